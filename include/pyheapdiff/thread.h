/*
 * thread.h - helper threads that stay out of the program's way.
 */
#ifndef PYHEAPDIFF_THREAD_H
#define PYHEAPDIFF_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* Starts fn(arg) in a new thread with the given stack size and every
 * signal blocked, so that signals keep going to the program's own threads
 * as if this one did not exist.  0 or an errno value. */
int phd_thread_start(pthread_t *th, void *(*fn)(void *), void *arg, size_t stack);

#endif
