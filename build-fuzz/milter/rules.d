build-fuzz/milter/rules.o: milter/rules.c include/rules.h

include/rules.h:
