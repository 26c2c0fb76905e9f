# gzip, from a file and from standard input, and plain standard input
gzip -c seed.log >"$T/seed.log.gz"
maildenied "$T/seed.log.gz"
gzip -c seed.log | maildenied
cat seed.log seed.log | grepruledomain 143
gzip -c seed.log | grepruleip 7 -
maildenied "$T/seed.log.gz" seed.log
