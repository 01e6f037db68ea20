/* listing_12_1.c - a supermarket checkout queue (listing 12.1).
 *
 * Ten customers with random baskets wait in a Queue; three cashiers take
 * customers with get_nowait() while the queue is not empty, "scan" each
 * product (a sleep per product), and mark each customer done. main gathers
 * queue.join() with the cashiers and ends once the line is empty. */
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_1 [--seed N]\n"
    "10 customers with 0-9 random products (Beer 2 s, Bananas 0.5 s, Sausages 0.2 s, Toilet\n"
    "paper 0.2 s, Milk 0.4 s, all scaled) are checked out by 3 cashiers from one queue.\n";

struct product {
    const char *name;
    double checkout_time;
};

struct customer {
    int customer_id;
    int nproducts;
    const struct product *products[9];
};

static const struct product all_products[] = {
    {"beer", 2}, {"bananas", .5}, {"sausages", .2}, {"toilet paper", .2}, {"milk", .4}};

static struct loom_queue customer_queue;

static intptr_t checkout_customer(void *arg)
{
    int cashier_number = (int)(intptr_t)arg;
    void *item;
    while (loom_queue_get_nowait(&customer_queue, &item) == 0) {
        struct customer *c = item;
        printf("Cashier %d checking out customer %d\n", cashier_number, c->customer_id);
        for (int i = 0; i < c->nproducts; i++) {
            printf("Cashier %d checking out customer %d's %s\n", cashier_number, c->customer_id,
                   c->products[i]->name);
            int rc = loom_sleep(demo_sec(c->products[i]->checkout_time));
            if (rc < 0)
                return rc;
        }
        printf("Cashier %d finished checking out customer %d\n", cashier_number, c->customer_id);
        loom_queue_task_done(&customer_queue);
    }
    return 0;
}

static intptr_t join_queue(void *arg) { return loom_queue_join(&customer_queue, -1); }

static intptr_t main_task(void *arg)
{
    static struct customer customers[10];
    unsigned seed = (unsigned)demo_arg_long("--seed", 1);
    loom_queue_init(&customer_queue, 0);
    for (int i = 0; i < 10; i++) {
        customers[i].customer_id = i;
        customers[i].nproducts = rand_r(&seed) % 10;
        for (int p = 0; p < customers[i].nproducts; p++)
            customers[i].products[p] = &all_products[rand_r(&seed) % 5];
        DEMO_CHECK(loom_queue_put_nowait(&customer_queue, &customers[i]));
    }
    double t0 = demo_now();
    struct loom_task *t[4] = {loom_spawn(join_queue, NULL, "join")};
    for (int i = 0; i < 3; i++)
        t[i + 1] = loom_spawn(checkout_customer, (void *)(intptr_t)i, NULL);
    DEMO_CHECK(loom_gather(t, 4, NULL, 0));
    printf("All customers checked out in %.2f s\n", demo_now() - t0);
    loom_queue_close(&customer_queue);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
