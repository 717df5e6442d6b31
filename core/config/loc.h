/* Where a value of the experiment file came from, for messages. */
#ifndef FANIN_CONFIG_LOC_H
#define FANIN_CONFIG_LOC_H

typedef struct fanin__loc {
    const char *file; /* borrowed; "--set" for command-line overrides */
    int line, col;    /* 1-based; 0 when unknown */
} fanin__loc;

#endif /* FANIN_CONFIG_LOC_H */
