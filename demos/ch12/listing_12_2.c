/* listing_12_2.c - a producer and consumers on one queue (listing 12.2).
 *
 * A producer adds 0-4 customers to the line each second; three cashiers wait
 * on get() and check customers out. With an unbounded queue the producer
 * never waits; with --maxsize the "Waiting to put" lines show put() blocking
 * while the line is full. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_2 [--maxsize N] [--batches N] [--seed N]\n"
    "A producer adds 0-4 customers (0-9 products each) every 1 s (scaled); 3 cashiers take\n"
    "them with get(). --maxsize bounds the line (put then waits when it is full). Runs\n"
    "forever unless --batches N: then it stops after N batches once the line is served.\n";

struct customer {
    int customer_id;
    int nproducts;
    int products[9]; /* index into product_names / product_times */
};

static const char *product_names[] = {"beer", "bananas", "sausages", "toilet paper", "milk"};
static const double product_times[] = {2, .5, .2, .2, .4};

static struct loom_queue queue;
static unsigned seed;

static struct customer *generate_customer(int customer_id)
{
    struct customer *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    c->customer_id = customer_id;
    c->nproducts = rand_r(&seed) % 10;
    for (int i = 0; i < c->nproducts; i++)
        c->products[i] = rand_r(&seed) % 5;
    return c;
}

static intptr_t customer_generator(void *arg)
{
    long batches = demo_arg_long("--batches", -1);
    int customer_count = 0;
    for (long b = 0; batches < 0 || b < batches; b++) {
        int n = rand_r(&seed) % 5;
        for (int i = 0; i < n; i++) {
            struct customer *c = generate_customer(customer_count++);
            printf("Waiting to put customer in line...\n");
            int rc = c ? loom_queue_put(&queue, c, -1) : -ENOMEM;
            if (rc < 0) {
                free(c);
                return rc;
            }
            printf("Customer put in line!\n");
        }
        int rc = loom_sleep(demo_sec(1));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static intptr_t checkout_customer(void *arg)
{
    int cashier_number = (int)(intptr_t)arg;
    for (;;) {
        void *item;
        int rc = loom_queue_get(&queue, &item, -1);
        if (rc < 0)
            return rc;
        struct customer *c = item;
        printf("Cashier %d checking out customer %d\n", cashier_number, c->customer_id);
        for (int i = 0; i < c->nproducts && rc == 0; i++) {
            printf("Cashier %d checking out customer %d's %s\n", cashier_number, c->customer_id,
                   product_names[c->products[i]]);
            rc = loom_sleep(demo_sec(product_times[c->products[i]]));
        }
        if (rc == 0)
            printf("Cashier %d finished checking out customer %d\n", cashier_number,
                   c->customer_id);
        free(c);
        loom_queue_task_done(&queue);
        if (rc < 0)
            return rc;
    }
}

static intptr_t main_task(void *arg)
{
    seed = (unsigned)demo_arg_long("--seed", 1);
    loom_queue_init(&queue, (size_t)demo_arg_long("--maxsize", 0));
    struct loom_task *producer = loom_spawn(customer_generator, NULL, "producer");
    struct loom_task *cashiers[3];
    for (int i = 0; i < 3; i++)
        cashiers[i] = loom_spawn(checkout_customer, (void *)(intptr_t)i, NULL);
    DEMO_CHECK(loom_task_join(producer));
    DEMO_CHECK(loom_queue_join(&queue, -1)); /* only reached with --batches */
    printf("Line is empty, closing the store\n");
    for (int i = 0; i < 3; i++)
        loom_task_cancel(cashiers[i]);
    loom_gather(cashiers, 3, NULL, LOOM_GATHER_ALL);
    loom_queue_close(&queue);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
