# every prefix shape, and lines that only look like decisions
maildenied prefixes.log
maildenied -c prefixes.log
grepruleip 7 prefixes.log
grepruleip 12 prefixes.log
grepruledomain 7 prefixes.log
grepruleip end prefixes.log
grepruleip -k deferred 12 prefixes.log
