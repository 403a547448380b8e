"""Model folders: the tiny random-weight kit (`dalpsr-models tiny`) and the checks a real
download gets before a long job (`dalpsr-models check`)."""
