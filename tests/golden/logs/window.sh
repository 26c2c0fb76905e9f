# time windows: RFC 3339 stamps carry the year; traditional ones take it from -N
maildenied -N 2026-12-01 -s "2026-11-23 16:01:03" -e "2026-11-23 16:01:05" prefixes.log
maildenied -N 2026-12-01 -s "Nov 23 16:01:04" prefixes.log
maildenied -N 2027-06-01 -s 2026-11-01 -e 2026-12-01 prefixes.log
maildenied -N 2027-06-01 -s 2027-01-01 prefixes.log
grepruleip -N @1795449600 -s -1d -k noto 12 prefixes.log
maildenied -N 2026-11-23 -s "Jun  3 10:00:05" original.log
