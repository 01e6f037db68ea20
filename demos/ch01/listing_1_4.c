/* listing_1_4.c - a child process (listing 1.4).
 *
 * fork() makes a second process with its own PID; the child greets and exits,
 * the parent greets with its own PID and waits for the child (join). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_4\n"
    "Forks a child that prints its PID; the parent prints its own PID and waits for it.\n";

static void hello_from_process(void) { printf("Hello from child process %d!\n", (int)getpid()); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        hello_from_process();
        exit(0);
    }
    printf("Hello from parent process %d\n", (int)getpid());

    int status;
    if (waitpid(child, &status, 0) != child) {
        perror("waitpid");
        return 1;
    }
    printf("Child %d exited with status %d\n", (int)child, WEXITSTATUS(status));
    return 0;
}
