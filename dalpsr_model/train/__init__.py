"""`dalpsr-train` and the parts shared by every training stage."""
