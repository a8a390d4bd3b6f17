/*
 * thread.c - helper threads that stay out of the program's way (thread.h).
 */
#include "pyheapdiff/thread.h"

#include <signal.h>

int phd_thread_start(pthread_t *th, void *(*fn)(void *), void *arg, size_t stack)
{
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err)
        return err;
    pthread_attr_setstacksize(&attr, stack);
    /* the thread inherits a mask blocking every signal */
    sigset_t all, old;
    sigfillset(&all);
    int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
    err = pthread_create(th, &attr, fn, arg);
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return err;
}
