# tracing rules in the corpus
grepruleip 13 corpus.log
grepruledomain 8 corpus.log
grepruleip -k noto 18 corpus-rfc3339.log
grepruleip 4 corpus.log
grepruleip -r 12 corpus.log
grepruleip end corpus.log
gzip -c corpus.log | grepruledomain 12
grepruledomain 19 corpus-rfc3339.log
