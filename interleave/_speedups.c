/* Compiled twin of interleave/_fused.py: two-ranker Team-Draft and Balanced in one pass.
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

static PyMethodDef speedups_methods[] = {
    {"team_draft_two", (PyCFunction)(void (*)(void))team_draft_two, METH_FASTCALL,
     team_draft_two_doc},
    {"balanced_two", (PyCFunction)(void (*)(void))balanced_two, METH_FASTCALL, balanced_two_doc},
    {"plain_pair_key", (PyCFunction)(void (*)(void))plain_pair_key, METH_FASTCALL,
     plain_pair_key_doc},
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
    .m_doc = "Compiled twins of interleave._fused's per-request merges (optional).",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
