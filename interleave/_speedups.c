/* Compiled twins of the per-request hot paths, each beside its pure-Python reference:
 * - interleave/_fused.py: two-ranker Team-Draft and Balanced in one pass, plain_pair_key;
 * - interleave/keys.py: the keyed draw of a plain str/int request key (BLAKE2b, RFC 7693);
 * - interleave/ranking.py and credit.py: a record's slots filled in one call (new_slotted).
 *
 * The sections below the first follow the same rules as the merges described here.
 */

/* Two-ranker Team-Draft and Balanced in one pass.
 *
 * Same results and the same None cases as the pure-Python reference there (its docstrings are
 * the specification; tests/interleave/test_speedups.py holds the two equal). Optional: built at
 * install time by hatch_build.py when a C compiler is at hand, else the reference runs.
 *
 * Safety, in the order it matters:
 * - No Python code runs between reading the input lists and taking references to the items we
 *   return. Exact str/int hash and compare without calling out, nothing GC-tracked is allocated
 *   (so no collection can run a finalizer that mutates the lists), and the scalar arguments are
 *   converted (possibly calling __index__/__bool__) before the lists are read at all.
 * - Work is O(len(a) + len(b)) hash probes; every loop advances a pointer into a list.
 * - No global state: everything lives on the stack or in per-call heap blocks.
 *
 * Two departures, both outside what the callers (TeamDraft/Balanced.interleave) can pass: the
 * arguments are positional only, and a length or coins without __index__ is a TypeError even
 * when the rankings would have made the reference return None first (it reads them later).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Below this many ids a ranking's index lives on the stack (the per-request case, n ~ 10). */
#define SMALL 32
/* Below this many output positions the output lives on the stack. */
#define SMALL_OUT 64

typedef enum { KIND_ANY, KIND_STR, KIND_INT } Kind;

/* A ranking of distinct exact str or in-range exact int ids, with an {id: rank} hash table. */
typedef struct {
    PyObject **ids; /* borrowed: the list's own item array */
    Py_ssize_t n;
    Kind kind;
    Py_hash_t *hashes; /* hashes[i] = hash(ids[i]) */
    Py_ssize_t *slots; /* rank stored at a slot, -1 for empty */
    size_t mask;
    void *heap; /* hashes and slots when n > SMALL */
    Py_hash_t small_hashes[SMALL];
    Py_ssize_t small_slots[2 * SMALL];
} Index;

/* Equal ids of one kind, both exact str or both in-range exact int. Not PyObject_RichCompare:
 * its recursion guard can raise RecursionError, and nothing here may fail. */
static int
same_id(PyObject *x, PyObject *y)
{
    if (x == y)
        return 1;
    if (PyUnicode_CheckExact(x))
        return PyUnicode_Compare(x, y) == 0;
    int ox, oy;
    long long vx = PyLong_AsLongLongAndOverflow(x, &ox), vy = PyLong_AsLongLongAndOverflow(y, &oy);
    if (ox || oy) /* in [2**63, 2**64): the low 64 bits are the whole value */
        return ox == oy && PyLong_AsUnsignedLongLongMask(x) == PyLong_AsUnsignedLongLongMask(y);
    return vx == vy;
}

/* The rank of `id` (hash `h`) in `ix`, or -1. Python's dict probing: the perturbation feeds the
 * high hash bits in, then the LCG i -> 5i + 1 visits every slot, so it ends at an empty one
 * (the table is at most half full). */
static Py_ssize_t
rank_of(const Index *ix, PyObject *id, Py_hash_t h)
{
    size_t perturb = (size_t)h, i = (size_t)h & ix->mask;
    for (;;) {
        Py_ssize_t p = ix->slots[i];
        if (p < 0 || (ix->hashes[p] == h && same_id(ix->ids[p], id)))
            return p;
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & ix->mask;
    }
}

/* Ints the reference accepts: -2**63 <= x < 2**64. */
static int
int_in_range(PyObject *x)
{
    int overflow;
    (void)PyLong_AsLongLongAndOverflow(x, &overflow);
    if (overflow == 0)
        return 1;
    if (overflow < 0)
        return 0;
    /* Above 2**63 - 1: in range iff x >> 1 fits in 63 bits. Not PyLong_AsUnsignedLongLong: its
     * OverflowError would be an allocation that can start a collection. */
    PyObject *one = PyLong_FromLong(1);
    if (one == NULL)
        return -1;
    PyObject *half = PyNumber_Rshift(x, one);
    Py_DECREF(one);
    if (half == NULL)
        return -1;
    (void)PyLong_AsLongLongAndOverflow(half, &overflow);
    Py_DECREF(half);
    return overflow == 0;
}

static void
index_free(Index *ix)
{
    PyMem_Free(ix->heap);
    ix->heap = NULL;
}

/* Check `list` and index it. 1: done; 0: not the common case (the caller returns None);
 * -1: error set. `want` is the kind the first ranking fixed, or KIND_ANY. */
static int
index_build(Index *ix, PyObject *list, Kind want)
{
    ix->heap = NULL;
    if (!PyList_CheckExact(list) || PyList_GET_SIZE(list) == 0)
        return 0;
    Py_ssize_t n = PyList_GET_SIZE(list);
    PyObject **ids = PySequence_Fast_ITEMS(list);
    Kind kind = PyUnicode_CheckExact(ids[0]) ? KIND_STR
                : PyLong_CheckExact(ids[0]) ? KIND_INT
                                            : KIND_ANY;
    if (kind == KIND_ANY || (want != KIND_ANY && kind != want))
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (kind == KIND_STR) {
            if (!PyUnicode_CheckExact(ids[i]))
                return 0;
        }
        else {
            if (!PyLong_CheckExact(ids[i]))
                return 0;
            int ok = int_in_range(ids[i]);
            if (ok <= 0)
                return ok;
        }
    }
    size_t size = 8; /* a power of two, at least twice n: probes end at an empty slot */
    while (size < 2 * (size_t)n)
        size <<= 1;
    if (n <= SMALL) {
        ix->hashes = ix->small_hashes;
        ix->slots = ix->small_slots;
    }
    else {
        if ((size_t)n > PY_SSIZE_T_MAX / (4 * sizeof(Py_ssize_t))) {
            PyErr_NoMemory();
            return -1;
        }
        ix->heap = PyMem_Malloc((size_t)n * sizeof(Py_hash_t) + size * sizeof(Py_ssize_t));
        if (ix->heap == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        ix->hashes = (Py_hash_t *)ix->heap;
        ix->slots = (Py_ssize_t *)(ix->hashes + n);
    }
    ix->ids = ids;
    ix->n = n;
    ix->kind = kind;
    ix->mask = size - 1;
    memset(ix->slots, 0xff, size * sizeof(Py_ssize_t)); /* every slot -1 */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_hash_t h = PyObject_Hash(ids[i]); /* exact str/int: cannot fail */
        ix->hashes[i] = h;
        size_t perturb = (size_t)h, s = (size_t)h & ix->mask;
        while (ix->slots[s] >= 0) {
            Py_ssize_t p = ix->slots[s];
            if (ix->hashes[p] == h && same_id(ids[p], ids[i])) {
                index_free(ix); /* a duplicate: the general path names it */
                return 0;
            }
            perturb >>= 5;
            s = (s * 5 + perturb + 1) & ix->mask;
        }
        ix->slots[s] = i;
    }
    return 1;
}

/* Both rankings, checked against each other's kind. 1, 0 or -1 as index_build. */
static int
index_pair(Index *ia, Index *ib, PyObject *a, PyObject *b)
{
    int ok = index_build(ia, a, KIND_ANY);
    if (ok <= 0) {
        ib->heap = NULL;
        return ok;
    }
    ok = index_build(ib, b, ia->kind);
    if (ok <= 0)
        index_free(ia);
    return ok;
}

/* The merged list as it grows: borrowed items, teams, and the rank of each in both rankings. */
typedef struct {
    PyObject **items;
    signed char *teams;
    Py_ssize_t *rank_x, *rank_y;
    Py_ssize_t count;
    void *heap;
    PyObject *small_items[SMALL_OUT];
    signed char small_teams[SMALL_OUT];
    Py_ssize_t small_x[SMALL_OUT], small_y[SMALL_OUT];
} Merged;

static int
merged_init(Merged *m, Py_ssize_t capacity)
{
    m->count = 0;
    m->heap = NULL;
    if (capacity <= SMALL_OUT) {
        m->items = m->small_items;
        m->teams = m->small_teams;
        m->rank_x = m->small_x;
        m->rank_y = m->small_y;
        return 0;
    }
    size_t each = sizeof(PyObject *) + 2 * sizeof(Py_ssize_t) + 1;
    if ((size_t)capacity > PY_SSIZE_T_MAX / each) {
        PyErr_NoMemory();
        return -1;
    }
    m->heap = PyMem_Malloc((size_t)capacity * each);
    if (m->heap == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->items = (PyObject **)m->heap;
    m->rank_x = (Py_ssize_t *)(m->items + capacity);
    m->rank_y = m->rank_x + capacity;
    m->teams = (signed char *)(m->rank_y + capacity);
    return 0;
}

static inline void
merged_add(Merged *m, PyObject *item, int team, Py_ssize_t x, Py_ssize_t y)
{
    m->items[m->count] = item;
    m->teams[m->count] = (signed char)team;
    m->rank_x[m->count] = x;
    m->rank_y[m->count] = y;
    m->count++;
}

static PyObject *
ranks_tuple(const Py_ssize_t *ranks, Py_ssize_t count)
{
    PyObject *t = PyTuple_New(count);
    if (t == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *r = PyLong_FromSsize_t(ranks[i]);
        if (r == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, r);
    }
    return t;
}

/* (items, teams, ranks_a, ranks_b); rank_x is a's when `x_is_a`. Frees the buffers. */
static PyObject *
merged_result(Merged *m, int x_is_a)
{
    Py_ssize_t count = m->count;
    PyObject *result = NULL, *items, *teams = NULL, *ranks_a = NULL, *ranks_b = NULL;
    /* Own the items before the first allocation that could run a collection. */
    for (Py_ssize_t i = 0; i < count; i++)
        Py_INCREF(m->items[i]);
    items = PyTuple_New(count);
    if (items == NULL) {
        for (Py_ssize_t i = 0; i < count; i++)
            Py_DECREF(m->items[i]);
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        PyTuple_SET_ITEM(items, i, m->items[i]);
    teams = PyTuple_New(count);
    if (teams == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *t = PyLong_FromLong(m->teams[i]);
        if (t == NULL)
            goto done;
        PyTuple_SET_ITEM(teams, i, t);
    }
    ranks_a = ranks_tuple(x_is_a ? m->rank_x : m->rank_y, count);
    if (ranks_a == NULL)
        goto done;
    ranks_b = ranks_tuple(x_is_a ? m->rank_y : m->rank_x, count);
    if (ranks_b == NULL)
        goto done;
    result = PyTuple_Pack(4, items, teams, ranks_a, ranks_b);
done:
    Py_XDECREF(items);
    Py_XDECREF(teams);
    Py_XDECREF(ranks_a);
    Py_XDECREF(ranks_b);
    PyMem_Free(m->heap);
    m->heap = NULL;
    return result;
}

/* An int argument as a Py_ssize_t, saturating: every length past the lists behaves alike, and
 * every negative one like 0 (both reference merges then return empty tuples). */
static int
length_arg(PyObject *arg, Py_ssize_t *out)
{
    PyObject *index = PyNumber_Index(arg); /* range(length) accepts what __index__ accepts */
    if (index == NULL)
        return -1;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
    Py_DECREF(index);
    if (overflow > 0 || v > PY_SSIZE_T_MAX)
        v = PY_SSIZE_T_MAX;
    else if (overflow < 0 || v < 0)
        v = 0;
    *out = (Py_ssize_t)v;
    return 0;
}

static int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t want)
{
    if (nargs == want)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd positional arguments (%zd given)",
                 name, want, nargs);
    return -1;
}

/* Bit r of the coins: a 64-bit window onto the int, shifted along when r passes it. Python's
 * (coins >> r) & 1, negative coins included (the mask is two's complement, >> is floor). */
typedef struct {
    PyObject *rest; /* coins >> (64 * words consumed), owned */
    unsigned long long word;
    Py_ssize_t base;
} Coins;

static int
coin(Coins *c, Py_ssize_t r, int *bit)
{
    while (r >= c->base + 64) {
        PyObject *shift = PyLong_FromLong(64);
        if (shift == NULL)
            return -1;
        PyObject *next = PyNumber_Rshift(c->rest, shift); /* exact ints: no Python code */
        Py_DECREF(shift);
        if (next == NULL)
            return -1;
        Py_SETREF(c->rest, next);
        c->word = PyLong_AsUnsignedLongLongMask(c->rest);
        c->base += 64;
    }
    *bit = (int)((c->word >> (r - c->base)) & 1);
    return 0;
}

/* One team's pick: its best item not yet shown, which is shown iff the other ranking's pointer
 * has passed it (its own pointer only moves forward). Rank x is a's, rank y is b's. */
static inline void
pick(const Index *own, const Index *other, Py_ssize_t *p_own, Py_ssize_t p_other, int own_is_a,
     Merged *m)
{
    while (*p_own < own->n) {
        Py_ssize_t i = (*p_own)++;
        Py_ssize_t j = rank_of(other, own->ids[i], own->hashes[i]);
        if (!(-1 < j && j < p_other)) {
            if (own_is_a)
                merged_add(m, own->ids[i], 0, i, j);
            else
                merged_add(m, own->ids[i], 1, j, i);
            return;
        }
    }
}

PyDoc_STRVAR(team_draft_two_doc,
             "team_draft_two(a, b, length, common_prefix, coins, /)\n--\n\n"
             "Compiled interleave._fused.team_draft_two: (items, teams, ranks_a, ranks_b) or "
             "None.");

static PyObject *
team_draft_two(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("team_draft_two", nargs, 5) < 0)
        return NULL;
    Py_ssize_t length;
    if (length_arg(args[2], &length) < 0)
        return NULL;
    int common_prefix = PyObject_IsTrue(args[3]);
    if (common_prefix < 0)
        return NULL;
    Coins coins = {PyNumber_Index(args[4]), 0, 0};
    if (coins.rest == NULL)
        return NULL;
    coins.word = PyLong_AsUnsignedLongLongMask(coins.rest);

    Index ia, ib;
    int ok = index_pair(&ia, &ib, args[0], args[1]);
    if (ok <= 0) {
        Py_DECREF(coins.rest);
        return ok == 0 ? Py_NewRef(Py_None) : NULL;
    }
    Py_ssize_t na = ia.n, nb = ib.n;
    Py_ssize_t capacity = length < na + nb ? length : na + nb;
    Merged m;
    PyObject *result = NULL;
    if (merged_init(&m, capacity) < 0)
        goto done;
    Py_ssize_t c = 0;
    if (common_prefix) {
        Py_ssize_t limit = capacity < na ? capacity : na;
        limit = limit < nb ? limit : nb;
        while (c < limit && same_id(ia.ids[c], ib.ids[c])) {
            merged_add(&m, ia.ids[c], -1, c, c);
            c++;
        }
    }
    Py_ssize_t pa = c, pb = c;
    for (Py_ssize_t r = 0; r < length && m.count < length; r++) {
        Py_ssize_t before = m.count;
        int a_first;
        if (coin(&coins, r, &a_first) < 0) {
            PyMem_Free(m.heap);
            goto done;
        }
        for (int turn = 0; turn < 2 && m.count < length; turn++) {
            if (a_first == (turn == 0))
                pick(&ia, &ib, &pa, pb, 1, &m);
            else
                pick(&ib, &ia, &pb, pa, 0, &m);
        }
        if (m.count == before)
            break;
    }
    result = merged_result(&m, 1);
done:
    index_free(&ia);
    index_free(&ib);
    Py_DECREF(coins.rest);
    return result;
}

PyDoc_STRVAR(balanced_two_doc,
             "balanced_two(a, b, length, a_first, /)\n--\n\n"
             "Compiled interleave._fused.balanced_two: (items, teams, ranks_a, ranks_b) or None.");

static PyObject *
balanced_two(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("balanced_two", nargs, 4) < 0)
        return NULL;
    Py_ssize_t length;
    if (length_arg(args[2], &length) < 0)
        return NULL;
    int a_first = PyObject_IsTrue(args[3]);
    if (a_first < 0)
        return NULL;

    Index ia, ib;
    int ok = index_pair(&ia, &ib, args[0], args[1]);
    if (ok <= 0)
        return ok == 0 ? Py_NewRef(Py_None) : NULL;
    /* x: the leader's ranks, y: the other's. */
    const Index *first = a_first ? &ia : &ib, *second = a_first ? &ib : &ia;
    int first_team = a_first ? 0 : 1, second_team = 1 - first_team;
    Py_ssize_t capacity = length < ia.n + ib.n ? length : ia.n + ib.n;
    Py_ssize_t common = ia.n < ib.n ? ia.n : ib.n;
    Merged m;
    PyObject *result = NULL;
    if (merged_init(&m, capacity) < 0)
        goto done;
    int full = 0; /* the reference's `break` out of the rank-by-rank loop (skips the tail) */
    for (Py_ssize_t i = 0; i < common; i++) {
        if (m.count >= length) {
            full = 1;
            break;
        }
        Py_ssize_t j = rank_of(second, first->ids[i], first->hashes[i]);
        if (!(-1 < j && j < i)) { /* shown iff the second ranking already added it */
            merged_add(&m, first->ids[i], first_team, i, j);
            if (m.count >= length) {
                full = 1;
                break;
            }
        }
        j = rank_of(first, second->ids[i], second->hashes[i]);
        if (!(-1 < j && j <= i)) /* shown iff the first ranking added it */
            merged_add(&m, second->ids[i], second_team, j, i);
    }
    if (!full) {
        /* The longer ranking's tail; with equal lengths the second's, which is empty. */
        int tail_is_first = first->n > common;
        const Index *tail = tail_is_first ? first : second, *other = tail_is_first ? second : first;
        int team = tail_is_first ? first_team : second_team;
        for (Py_ssize_t i = common; i < tail->n && m.count < length; i++) {
            Py_ssize_t j = rank_of(other, tail->ids[i], tail->hashes[i]);
            if (!(-1 < j && j < common)) {
                if (tail_is_first)
                    merged_add(&m, tail->ids[i], team, i, j);
                else
                    merged_add(&m, tail->ids[i], team, j, i);
            }
        }
    }
    result = merged_result(&m, a_first);
done:
    index_free(&ia);
    index_free(&ib);
    return result;
}

PyDoc_STRVAR(plain_pair_key_doc,
             "plain_pair_key(a, b, /)\n--\n\n"
             "Compiled interleave._fused.plain_pair_key: (tuple(a), tuple(b)) or None.");

/* Every item of `t` exactly of `kind` (a tuple: immutable, so nothing can change it under us). */
static int
all_of_kind(PyObject *t, Kind kind)
{
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(t, i);
        if (kind == KIND_STR ? !PyUnicode_CheckExact(x) : !PyLong_CheckExact(x))
            return 0;
    }
    return 1;
}

static PyObject *
plain_pair_key(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("plain_pair_key", nargs, 2) < 0)
        return NULL;
    PyObject *a = args[0], *b = args[1];
    if (!PyList_CheckExact(a) || !PyList_CheckExact(b) || PyList_GET_SIZE(a) == 0 ||
        PyList_GET_SIZE(b) == 0)
        return Py_NewRef(Py_None);
    /* Copy first, then check the copies: the copies cannot change while we read them. */
    PyObject *ta = PyList_AsTuple(a);
    if (ta == NULL)
        return NULL;
    PyObject *tb = PyList_AsTuple(b);
    if (tb == NULL) {
        Py_DECREF(ta);
        return NULL;
    }
    int plain = 0; /* the lists may have changed size since they were checked non-empty */
    if (PyTuple_GET_SIZE(ta) > 0 && PyTuple_GET_SIZE(tb) > 0) {
        PyObject *first = PyTuple_GET_ITEM(ta, 0);
        Kind kind = PyUnicode_CheckExact(first) ? KIND_STR
                    : PyLong_CheckExact(first)  ? KIND_INT
                                                : KIND_ANY;
        plain = kind != KIND_ANY && all_of_kind(ta, kind) && all_of_kind(tb, kind);
    }
    PyObject *result = plain ? PyTuple_Pack(2, ta, tb) : Py_NewRef(Py_None);
    Py_DECREF(ta);
    Py_DECREF(tb);
    return result;
}

/* ---- Keyed draws: BLAKE2b (RFC 7693) and the request-key encoding of interleave/keys.py ----
 *
 * keys.key_digest / keys.plain_key_uniforms pay two hashlib calls and the key's encoding in
 * Python per request (~1.7 us); here the same bytes are hashed by BLAKE2b written from RFC 7693
 * (sequential mode, default parameter block: no salt, no personalisation), so the results are
 * byte-for-byte hashlib's (tests/interleave/test_speedups.py holds them equal). */

static const uint64_t B2B_IV[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL,
};

static const uint8_t B2B_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

typedef struct {
    uint64_t h[8];
    uint64_t t; /* bytes compressed so far (messages here are far below 2**64 bytes) */
    uint8_t buf[128];
    size_t used;
} Blake2b;

static inline uint64_t
rotr64(uint64_t x, unsigned r)
{
    return (x >> r) | (x << (64 - r));
}

/* Little-endian whatever the machine: the RFC's byte order, so the digest is the same anywhere. */
static inline uint64_t
load64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

#define B2B_G(a, b, c, d, x, y)                                                                    \
    do {                                                                                           \
        v[a] = v[a] + v[b] + (x);                                                                  \
        v[d] = rotr64(v[d] ^ v[a], 32);                                                            \
        v[c] = v[c] + v[d];                                                                        \
        v[b] = rotr64(v[b] ^ v[c], 24);                                                            \
        v[a] = v[a] + v[b] + (y);                                                                  \
        v[d] = rotr64(v[d] ^ v[a], 16);                                                            \
        v[c] = v[c] + v[d];                                                                        \
        v[b] = rotr64(v[b] ^ v[c], 63);                                                            \
    } while (0)

static void
b2b_compress(Blake2b *s, const uint8_t block[128], int last)
{
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++)
        m[i] = load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = B2B_IV[i];
    }
    v[12] ^= s->t; /* the high word of the 128-bit counter stays 0 */
    if (last)
        v[14] = ~v[14];
    /* Rounds spelled out with constant indices: the compiler resolves m[SIGMA[r][k]] and keeps
     * the state in registers (about 1.5x faster than a loop over r). */
#define B2B_ROUND(r)                                                                               \
    do {                                                                                           \
        B2B_G(0, 4, 8, 12, m[B2B_SIGMA[r][0]], m[B2B_SIGMA[r][1]]);                                \
        B2B_G(1, 5, 9, 13, m[B2B_SIGMA[r][2]], m[B2B_SIGMA[r][3]]);                                \
        B2B_G(2, 6, 10, 14, m[B2B_SIGMA[r][4]], m[B2B_SIGMA[r][5]]);                               \
        B2B_G(3, 7, 11, 15, m[B2B_SIGMA[r][6]], m[B2B_SIGMA[r][7]]);                               \
        B2B_G(0, 5, 10, 15, m[B2B_SIGMA[r][8]], m[B2B_SIGMA[r][9]]);                               \
        B2B_G(1, 6, 11, 12, m[B2B_SIGMA[r][10]], m[B2B_SIGMA[r][11]]);                             \
        B2B_G(2, 7, 8, 13, m[B2B_SIGMA[r][12]], m[B2B_SIGMA[r][13]]);                              \
        B2B_G(3, 4, 9, 14, m[B2B_SIGMA[r][14]], m[B2B_SIGMA[r][15]]);                              \
    } while (0)
    B2B_ROUND(0);
    B2B_ROUND(1);
    B2B_ROUND(2);
    B2B_ROUND(3);
    B2B_ROUND(4);
    B2B_ROUND(5);
    B2B_ROUND(6);
    B2B_ROUND(7);
    B2B_ROUND(8);
    B2B_ROUND(9);
    B2B_ROUND(10);
    B2B_ROUND(11);
#undef B2B_ROUND
    for (int i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
}

/* The last block is compressed only at b2b_final (it carries the final flag), so a full buffer
 * is compressed when more input arrives, never as soon as it fills. */
static void
b2b_update(Blake2b *s, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (s->used == 128) {
            s->t += 128;
            b2b_compress(s, s->buf, 0);
            s->used = 0;
        }
        size_t take = 128 - s->used < len ? 128 - s->used : len;
        memcpy(s->buf + s->used, data, take);
        s->used += take;
        data += take;
        len -= take;
    }
}

/* digest_size 1..64, key 0..64 bytes (a key is its own first block, zero-padded). */
static void
b2b_init(Blake2b *s, size_t digest_size, const uint8_t *key, size_t key_len)
{
    memcpy(s->h, B2B_IV, sizeof s->h);
    s->h[0] ^= 0x01010000ULL ^ ((uint64_t)key_len << 8) ^ (uint64_t)digest_size;
    s->t = 0;
    s->used = 0;
    if (key_len > 0) {
        memset(s->buf, 0, 128);
        memcpy(s->buf, key, key_len);
        s->used = 128;
    }
}

static void
b2b_final(Blake2b *s, uint8_t *out, size_t digest_size)
{
    s->t += s->used;
    memset(s->buf + s->used, 0, 128 - s->used);
    b2b_compress(s, s->buf, 1);
    for (size_t i = 0; i < digest_size; i++)
        out[i] = (uint8_t)(s->h[i / 8] >> (8 * (i % 8)));
}

PyDoc_STRVAR(blake2b_doc,
             "blake2b(data, key, digest_size, /) -> bytes\n\n"
             "hashlib.blake2b(data, key=key, digest_size=digest_size).digest(), computed here "
             "(the reference the key draws below are tested through).");

static PyObject *
blake2b_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("blake2b", nargs, 3) < 0)
        return NULL;
    if (!PyBytes_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "blake2b: data and key must be bytes");
        return NULL;
    }
    Py_ssize_t digest_size = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (digest_size == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t key_len = PyBytes_GET_SIZE(args[1]);
    if (digest_size < 1 || digest_size > 64 || key_len > 64) {
        PyErr_SetString(PyExc_ValueError, "blake2b: digest_size must be 1..64, key <= 64 bytes");
        return NULL;
    }
    Blake2b s;
    uint8_t out[64];
    b2b_init(&s, (size_t)digest_size, (const uint8_t *)PyBytes_AS_STRING(args[1]), (size_t)key_len);
    b2b_update(&s, (const uint8_t *)PyBytes_AS_STRING(args[0]), (size_t)PyBytes_GET_SIZE(args[0]));
    b2b_final(&s, out, (size_t)digest_size);
    return PyBytes_FromStringAndSize((const char *)out, digest_size);
}

/* The 32-byte key digest of keys.key_digest(seed, key) for `head` = ENCODING_VERSION + the seed's
 * encoding and a plain key: exact str (valid UTF-8, no lone surrogate) or exact int within int64.
 * 0 on success, 1 when the key is not plain (the caller returns None: Python's reference then
 * handles it, errors included), -1 on a Python error. */
static int
plain_key_digest_into(PyObject *head, PyObject *key, uint8_t digest[32])
{
    if (!PyBytes_Check(head)) {
        PyErr_SetString(PyExc_TypeError, "the key head must be bytes");
        return -1;
    }
    const char *raw;
    Py_ssize_t raw_len;
    char tag;
    char digits[24];
    if (PyUnicode_CheckExact(key)) {
        raw = PyUnicode_AsUTF8AndSize(key, &raw_len);
        if (raw == NULL) { /* a lone surrogate: the reference encodes it by 'surrogatepass' */
            PyErr_Clear();
            return 1;
        }
        if ((size_t)raw_len > 0xFFFFFFFFu)
            return 1;
        tag = 's';
    }
    else if (PyLong_CheckExact(key)) {
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(key, &overflow);
        if (overflow != 0)
            return 1;
        if (value == -1 && PyErr_Occurred())
            return -1;
        /* Decimal digits written backwards from the end of `digits` (snprintf costs ~0.2 us). */
        unsigned long long magnitude =
            value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
        char *p = digits + sizeof digits;
        do {
            *--p = (char)('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude);
        if (value < 0)
            *--p = '-';
        raw = p;
        raw_len = digits + sizeof digits - p;
        tag = 'i';
    }
    else
        return 1;
    uint8_t prefix[5] = {(uint8_t)tag, (uint8_t)raw_len, (uint8_t)(raw_len >> 8),
                         (uint8_t)(raw_len >> 16), (uint8_t)(raw_len >> 24)};
    Blake2b s;
    b2b_init(&s, 32, NULL, 0);
    b2b_update(&s, (const uint8_t *)PyBytes_AS_STRING(head), (size_t)PyBytes_GET_SIZE(head));
    b2b_update(&s, prefix, 5);
    b2b_update(&s, (const uint8_t *)raw, (size_t)raw_len);
    b2b_final(&s, digest, 32);
    return 0;
}

PyDoc_STRVAR(plain_key_digest_doc,
             "plain_key_digest(head, key, /) -> bytes | None\n\n"
             "keys.key_digest(seed, key) for head = ENCODING_VERSION + the seed's encoding and an "
             "exact str or int64 key; None for any other key (the reference handles it).");

static PyObject *
plain_key_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("plain_key_digest", nargs, 2) < 0)
        return NULL;
    uint8_t digest[32];
    int status = plain_key_digest_into(args[0], args[1], digest);
    if (status < 0)
        return NULL;
    if (status > 0)
        return Py_NewRef(Py_None);
    return PyBytes_FromStringAndSize((const char *)digest, 32);
}

PyDoc_STRVAR(plain_key_uniforms_doc,
             "plain_key_uniforms(head, key, n, /) -> list[float] | None\n\n"
             "keys.digest_uniforms(keys.key_digest(seed, key), n) for 1 <= n <= 8 and a key "
             "plain_key_digest accepts; None otherwise.");

static PyObject *
plain_key_uniforms(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("plain_key_uniforms", nargs, 3) < 0)
        return NULL;
    Py_ssize_t n = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 1 || n > 8)
        return Py_NewRef(Py_None);
    uint8_t digest[32];
    int status = plain_key_digest_into(args[0], args[1], digest);
    if (status < 0)
        return NULL;
    if (status > 0)
        return Py_NewRef(Py_None);
    /* Block 0 of digest_uniforms' counter mode: blake2b(counter 0 as 8 bytes, key=digest). */
    static const uint8_t first_counter[8] = {0};
    Blake2b s;
    uint8_t block[64];
    b2b_init(&s, 64, digest, 32);
    b2b_update(&s, first_counter, 8);
    b2b_final(&s, block, 64);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *u = PyFloat_FromDouble((double)(load64(block + 8 * i) >> 11) * 0x1p-53);
        if (u == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, u);
    }
    return out;
}

/* ---- Clicks: the positions of a plain click list ---- */

PyDoc_STRVAR(plain_click_positions_doc,
             "plain_click_positions(clicks, n_shown, /) -> tuple | None\n\n"
             "interleave.methods.base.click_positions' common case: a list or tuple of at most 64 "
             "distinct exact ints in [0, n_shown) gives them sorted, as a tuple of the same int "
             "objects; anything else None (the reference decides, and names any error).");

static PyObject *
plain_click_positions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("plain_click_positions", nargs, 2) < 0)
        return NULL;
    PyObject *clicks = args[0];
    if (!PyLong_CheckExact(args[1]))
        return Py_NewRef(Py_None);
    Py_ssize_t n_shown = PyLong_AsSsize_t(args[1]);
    if (n_shown == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return Py_NewRef(Py_None);
    }
    PyObject **items;
    Py_ssize_t n;
    if (PyList_CheckExact(clicks)) {
        items = ((PyListObject *)clicks)->ob_item;
        n = PyList_GET_SIZE(clicks);
    }
    else if (PyTuple_CheckExact(clicks)) {
        items = ((PyTupleObject *)clicks)->ob_item;
        n = PyTuple_GET_SIZE(clicks);
    }
    else
        return Py_NewRef(Py_None);
    if (n > SMALL_OUT)
        return Py_NewRef(Py_None);
    /* Insertion sort by value (n is a handful of clicks); nothing here calls Python code, so
     * the list cannot change under us. */
    long long values[SMALL_OUT];
    PyObject *sorted[SMALL_OUT];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = items[i];
        if (!PyLong_CheckExact(x))
            return Py_NewRef(Py_None);
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (overflow != 0 || v < 0 || v >= (long long)n_shown)
            return Py_NewRef(Py_None);
        Py_ssize_t j = i;
        while (j > 0 && values[j - 1] > v) {
            values[j] = values[j - 1];
            sorted[j] = sorted[j - 1];
            j--;
        }
        if (j > 0 && values[j - 1] == v)
            return Py_NewRef(Py_None); /* a repeated position: the reference names it */
        values[j] = v;
        sorted[j] = x;
    }
    PyObject *out = PyTuple_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(out, i, Py_NewRef(sorted[i]));
    return out;
}

/* ---- Records: a slotted object filled in one call ---- */

PyDoc_STRVAR(new_slotted_doc,
             "new_slotted(cls, setters, *values, /) -> object\n\n"
             "object.__new__(cls) with setters[i].__set__(obj, values[i]) for each i: the per-request "
             "records (Interleaving, Credit) in one call instead of one per field. `setters` is a "
             "tuple of the class's slot descriptors; their own checks apply.");

static PyObject *
new_slotted(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || !PyType_Check(args[0]) || !PyTuple_CheckExact(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != nargs - 2) {
        PyErr_SetString(PyExc_TypeError,
                        "new_slotted(cls, setters, *values): a type, a tuple of slot descriptors "
                        "and one value per descriptor");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *setters = args[1];
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    PyObject *obj = PyBaseObject_Type.tp_new(cls, empty, NULL);
    Py_DECREF(empty);
    if (obj == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs - 2; i++) {
        PyObject *setter = PyTuple_GET_ITEM(setters, i);
        descrsetfunc set = Py_TYPE(setter)->tp_descr_set;
        if (set == NULL) {
            PyErr_Format(PyExc_TypeError, "new_slotted: setters[%zd] is not a data descriptor",
                         i);
            Py_DECREF(obj);
            return NULL;
        }
        if (set(setter, obj, args[i + 2]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

static PyMethodDef speedups_methods[] = {
    {"team_draft_two", (PyCFunction)(void (*)(void))team_draft_two, METH_FASTCALL,
     team_draft_two_doc},
    {"balanced_two", (PyCFunction)(void (*)(void))balanced_two, METH_FASTCALL, balanced_two_doc},
    {"plain_pair_key", (PyCFunction)(void (*)(void))plain_pair_key, METH_FASTCALL,
     plain_pair_key_doc},
    {"plain_click_positions", (PyCFunction)(void (*)(void))plain_click_positions, METH_FASTCALL,
     plain_click_positions_doc},
    {"new_slotted", (PyCFunction)(void (*)(void))new_slotted, METH_FASTCALL, new_slotted_doc},
    {"blake2b", (PyCFunction)(void (*)(void))blake2b_digest, METH_FASTCALL, blake2b_doc},
    {"plain_key_digest", (PyCFunction)(void (*)(void))plain_key_digest, METH_FASTCALL,
     plain_key_digest_doc},
    {"plain_key_uniforms", (PyCFunction)(void (*)(void))plain_key_uniforms, METH_FASTCALL,
     plain_key_uniforms_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot speedups_slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "interleave._speedups",
    .m_doc = "Compiled twins of the per-request hot paths (optional; see the source header).",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
