/*
 * pyheapdiff/progress.h - how far a long pass of the library is, for a
 * caller that wants to show it (the CLI, on a terminal).
 *
 * A pass names its phase and its total with phd_progress_begin(), calls
 * phd_progress_tick(done) as it goes and phd_progress_end() when done.  A
 * tick is one compare against a threshold; only every PHD_PROGRESS_STEP
 * units does it read the clock (clock_gettime, no system call on Linux),
 * and only then may it call the sink.  With no sink installed the
 * threshold never falls due, so a library user who wants no progress
 * pays one compare per unit.
 *
 * The state is one per process (the library's passes run one at a time
 * in the CLI's single thread); nothing here is thread-safe, and a pass
 * running in another thread must not tick.
 */
#ifndef PYHEAPDIFF_PROGRESS_H
#define PYHEAPDIFF_PROGRESS_H

#include <stdint.h>

/* Units between two looks at the clock. */
#define PHD_PROGRESS_STEP 16384u

/* Where progress goes.  show() gets the phase, done and total (done <=
 * total; total may be 0 when unknown); phase NULL means "clear what you
 * showed".  It is called at most once per interval_ns, never before
 * delay_ns after phd_progress_install(), and with NULL once at the end of
 * each phase during which it was called. */
struct phd_progress_sink {
    void (*show)(void *ctx, const char *phase, uint64_t done, uint64_t total);
    void *ctx;
    uint64_t delay_ns;
    uint64_t interval_ns;
};

/* Installs sink (copied), or none when NULL.  The clock for delay_ns
 * starts now. */
void phd_progress_install(const struct phd_progress_sink *sink);
/* Starts a phase of `total` units (phase: a static string). */
void phd_progress_begin(const char *phase, uint64_t total);
/* Ends the current phase (clears what the sink showed of it). */
void phd_progress_end(void);

/* Private to the inline tick: the next done count to look at the clock. */
extern uint64_t phd_progress_due_;
void phd_progress_poll_(uint64_t done);

/* Reports that `done` units of the current phase are done. */
static inline void phd_progress_tick(uint64_t done)
{
    if (done >= phd_progress_due_)
        phd_progress_poll_(done);
}

#endif
