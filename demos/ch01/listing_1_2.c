/* listing_1_2.c - a process and its threads (listing 1.2).
 *
 * Every program is a process with at least one thread. We print the process
 * id, how many threads are alive (counted in /proc/self/task) and the name of
 * the thread running main(). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_2\n"
    "Prints this process's PID, the number of live threads (1) and the name of the\n"
    "current thread (MainThread).\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    /* Python calls the first thread "MainThread"; name ours the same way. */
    pthread_setname_np(pthread_self(), "MainThread");

    printf("Process running with process id: %d\n", (int)getpid());
    int total_threads = demo_thread_count();
    DEMO_CHECK(total_threads);
    char thread_name[16];
    pthread_getname_np(pthread_self(), thread_name, sizeof thread_name);
    printf("Currently running %d thread(s)\n", total_threads);
    printf("The current thread is %s\n", thread_name);
    return 0;
}
