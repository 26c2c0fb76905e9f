# the talk's tracing commands
grepruleip 143 seed.log
grepruledomain 143 seed.log
grepruleip 7 seed.log
grepruleip -k noto 144 seed.log
grepruleip -k allowed 144 seed.log
