/* list.h - intrusive circular doubly linked list (no allocation per node). */
#ifndef LOOM_REACTOR_LIST_H
#define LOOM_REACTOR_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Embed in any struct; an unlinked node points to itself. */
struct loom_list {
    /* the next node (the head's next is the first node) */
    struct loom_list *next;
    /* the previous node (the head's prev is the last node) */
    struct loom_list *prev;
};

/* The struct of type whose member is the node ptr (container_of). */
#define loom_list_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* An empty list, or an unlinked node. */
static inline void loom_list_init(struct loom_list *l) { l->next = l->prev = l; }

/* True when the list has no node. */
static inline bool loom_list_empty(const struct loom_list *l) { return l->next == l; }

/* True when the node is on some list (nodes are re-initialised on removal). */
static inline bool loom_list_linked(const struct loom_list *n) { return n->next != n; }

/* Link n just before pos. */
static inline void loom_list_insert_before(struct loom_list *pos, struct loom_list *n)
{
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}

/* Append n: it becomes the last node. */
static inline void loom_list_push_back(struct loom_list *head, struct loom_list *n)
{
    loom_list_insert_before(head, n);
}

/* Prepend n: it becomes the first node. */
static inline void loom_list_push_front(struct loom_list *head, struct loom_list *n)
{
    loom_list_insert_before(head->next, n);
}

/* Unlink n from its list (it is left unlinked, so removing it twice is safe). */
static inline void loom_list_remove(struct loom_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* Unlink and return the first node, or NULL when the list is empty. */
static inline struct loom_list *loom_list_pop_front(struct loom_list *head)
{
    struct loom_list *n = head->next;
    if (n == head)
        return NULL;
    loom_list_remove(n);
    return n;
}

/* Move every node of from to the end of to; from becomes empty. O(1). */
static inline void loom_list_splice(struct loom_list *to, struct loom_list *from)
{
    if (loom_list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    loom_list_init(from);
}

/* Walk the list front to back; the body must not unlink it. */
#define loom_list_foreach(it, head) for ((it) = (head)->next; (it) != (head); (it) = (it)->next)

#ifdef __cplusplus
}
#endif
#endif
