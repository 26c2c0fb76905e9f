# the effectiveness view over the corpus
maildenied -f corpus.rules corpus.log
