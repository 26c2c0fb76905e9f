# a few hundred real smtpd sessions through rsyslog (test_tools_logs.py)
maildenied corpus.log
maildenied -c corpus-rfc3339.log
