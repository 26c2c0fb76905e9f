# usage and input errors, each with its exit status
grepruleip abc seed.log; echo "exit $?"
grepruleip; echo "exit $?"
maildenied -f /nonexistent seed.log; echo "exit $?"
maildenied -s yesterday seed.log; echo "exit $?"
grepruleip -k nosuchkind 7 seed.log; echo "exit $?"
maildenied /nonexistent/mail.log; echo "exit $?"
printf "\037\213garbage" | maildenied; echo "exit $?"
logscan nosuchreport; echo "exit $?"
