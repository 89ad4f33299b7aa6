import os
os.getppid()
