/*
 * progress.c - the state behind pyheapdiff/progress.h: the installed sink,
 * the current phase and when the sink was last called.
 *
 * One set per process, written only by the thread that runs the library's
 * passes (the CLI's only thread).  phd_progress_due_ is UINT64_MAX when no
 * sink is installed or no phase is open, so that the inline tick never
 * calls in; else it is the done count of the next look at the clock.
 */
#include <time.h>

#include "pyheapdiff/progress.h"

uint64_t phd_progress_due_ = UINT64_MAX;

static struct {
    struct phd_progress_sink sink;
    int installed, shown;
    const char *phase;
    uint64_t total;
    uint64_t start_ns, last_ns; /* install time, last call of show */
} st;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void phd_progress_install(const struct phd_progress_sink *sink)
{
    phd_progress_end();
    st.installed = sink && sink->show;
    if (st.installed)
        st.sink = *sink;
    st.start_ns = now_ns();
    st.last_ns = 0;
}

void phd_progress_begin(const char *phase, uint64_t total)
{
    phd_progress_end();
    if (!st.installed)
        return;
    st.phase = phase;
    st.total = total;
    phd_progress_due_ = 0;
}

void phd_progress_end(void)
{
    phd_progress_due_ = UINT64_MAX;
    if (st.shown)
        st.sink.show(st.sink.ctx, NULL, 0, 0);
    st.shown = 0;
    st.phase = NULL;
}

void phd_progress_poll_(uint64_t done)
{
    phd_progress_due_ = done + PHD_PROGRESS_STEP;
    uint64_t t = now_ns();
    if (t - st.start_ns < st.sink.delay_ns || (st.shown && t - st.last_ns < st.sink.interval_ns))
        return;
    st.last_ns = t;
    st.shown = 1;
    st.sink.show(st.sink.ctx, st.phase, st.total && done > st.total ? st.total : done, st.total);
}
