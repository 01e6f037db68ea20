/* listing_1_3.c - starting and joining a thread (listing 1.3).
 *
 * main() starts a second thread that prints a greeting. While that thread is
 * alive the process has two threads; main() reports the count and its own
 * name, then joins the thread. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_3\n"
    "Starts one thread that greets, prints the thread count (2 while it lives) and the\n"
    "current thread's name, then joins it.\n";

static pthread_barrier_t counted; /* keeps the thread alive until main has counted */

static void *hello_from_thread(void *arg)
{
    char name[16];
    pthread_setname_np(pthread_self(), "Thread-1"); /* Python's name for the first new thread */
    pthread_getname_np(pthread_self(), name, sizeof name);
    printf("Hello from thread %s (tid %d)!\n", name, gettid());
    pthread_barrier_wait(&counted);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    pthread_setname_np(pthread_self(), "MainThread");
    pthread_barrier_init(&counted, NULL, 2);

    pthread_t hello_thread;
    DEMO_CHECK(-pthread_create(&hello_thread, NULL, hello_from_thread, NULL));

    int total_threads = demo_thread_count();
    char thread_name[16];
    pthread_getname_np(pthread_self(), thread_name, sizeof thread_name);
    printf("Currently running %d thread(s)\n", total_threads);
    printf("The current thread is %s\n", thread_name);

    pthread_barrier_wait(&counted);
    pthread_join(hello_thread, NULL);
    printf("After join: %d thread(s)\n", demo_thread_count());
    pthread_barrier_destroy(&counted);
    return 0;
}
