# the effectiveness view, with the rules file
maildenied -f seed.rules seed.log
