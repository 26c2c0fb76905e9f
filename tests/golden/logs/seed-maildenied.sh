# the talk's three lines: totals and hits per line
maildenied seed.log
