# the original program's templates
maildenied original.log
grepruleip end original.log
grepruleip -k default end original.log
grepruledomain 5 original.log
