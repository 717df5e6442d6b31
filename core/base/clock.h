/* The monotonic clock (clock.c): durations only, never dates. */
#ifndef FANIN_BASE_CLOCK_H
#define FANIN_BASE_CLOCK_H


/* Seconds on the monotonic clock (for durations only). */
double fanin__now(void);

#endif /* FANIN_BASE_CLOCK_H */
