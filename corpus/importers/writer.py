"""Write chunks of Units set-based: one query per model finds what exists, then bulk inserts and bulk updates."""

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
from django.db import DatabaseError, connection, transaction
from django.db.models import JSONField, Model

from ..models import Comment, MultipleChoiceCase, Post, Question, RecordChange, Split, Thread
from ..sql import sql
from .base import RecordError
from .units import COMMENT_FIELDS, POST_FIELDS, QUESTION_FIELDS, THREAD_FIELDS, Key, Record, Row, Unit

if TYPE_CHECKING:
    from .pipeline import ImportContext

T = TypeVar("T")
CorpusModel = type[Post] | type[Thread] | type[Comment] | type[Question]
Joins = list[tuple[str, str, str, str]]  # see parent_joins

BATCH = 500  # rows per INSERT/UPDATE statement (SQLite lowers it to fit its 999 parameters)

# Natural keys of parents, as rows carry them, and how to read them back from the database for change records.
FOREIGN_KEYS = {"post_key": ("post_id", "post__post_id"), "comment_key": ("comment_id", "comment__comment_id")}


class ChunkResult:
    """What one chunk did; merged into the report only once its transaction committed."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self.touched: set[tuple[str, Key]] = set()  # (model, key) created or updated
        self.written: set[tuple[str, Key]] = set()  # (model, key) now in the database from this import
        self.changes: list[RecordChange] = []
        self.rejected: list[tuple[int, list[RecordError]]] = []  # (line, [RecordError])
        # pks of posts whose title or body changed: their threads' search text is stale
        self.retitled_posts: set[int] = set()
        self.unchanged = 0


def write_in_transactions(
    items: Sequence[T], write: Callable[[Sequence[T]], ChunkResult], line_of: Callable[[T], int],
    written: set[tuple[str, Key]],
) -> list[ChunkResult]:
    """Write items in one transaction; if the database refuses, retry them one per transaction to isolate the
    record it refuses. Each record is written completely or not at all. Return the ChunkResults."""
    if not items:
        return []
    try:
        with transaction.atomic():
            result = write(items)
    except DatabaseError as exc:
        if len(items) > 1:
            return [res for item in items for res in write_in_transactions([item], write, line_of, written)]
        result = ChunkResult()
        result.rejected.append((line_of(items[0]), [RecordError("-", f"the database refused the record: {exc}")]))
        return [result]
    written |= result.written  # only now committed: later chunks of this import never rewrite these rows
    return [result]


class UnitParser:
    """What the AskDocs parsers (question records, thread records) share: a chunk becomes Units, planned as a
    FreshChunk when all its rows are new, and is written by a ChunkWriter. Subclasses define build_units()."""

    ctx: "ImportContext"

    def build_units(self, accepted: list[tuple[int, Record]]) -> list[Unit]:
        """Return one Unit per accepted (line, record)."""
        raise NotImplementedError

    def prepare(self, accepted: list[tuple[int, Record]]) -> tuple[list[Unit], "FreshChunk | None"]:
        units = self.build_units(accepted)
        return units, ChunkWriter(self.ctx).plan_fresh(units)

    def write(self, payload: tuple[list[Unit], "FreshChunk | None"]) -> list[ChunkResult]:
        return ChunkWriter(self.ctx).write(*payload)

    @staticmethod
    def is_fresh(payload: tuple[list[Unit], "FreshChunk | None"]) -> bool:
        """Whether the prepared chunk is a FreshChunk plan (all rows new), which a writer thread writes best."""
        return payload[1] is not None


class ChunkWriter:
    """Write Units of the AskDocs formats (question records, thread records) for one import run."""

    def __init__(self, ctx: "ImportContext") -> None:
        self.ctx = ctx

    def write(self, units: list[Unit], fresh: "FreshChunk | None" = None) -> list[ChunkResult]:
        """Write the units (with their FreshChunk plan, if any); return the ChunkResults to merge into the report."""
        written = self.ctx.state.written
        if fresh is not None:
            try:
                with transaction.atomic():
                    result = fresh.execute()
            except DatabaseError:
                pass  # another import wrote some of these rows since the plan: decide row by row below
            else:
                written |= result.written
                return [result]
        return write_in_transactions(units, self.write_units, lambda unit: unit.line, written)

    def plan_fresh(self, units: list[Unit]) -> "FreshChunk | None":
        """Return a FreshChunk when none of the chunk's rows exist yet, else None; called on the reading thread.

        A fresh chunk needs no key lookups, pk fetches or comparisons in the writer's transaction: its INSERTs are
        prepared here and name their parents by natural key, which SQLite resolves per row. So the writer thread
        only runs SQL, and SQLite works while this thread checks the next chunk. "None exist" is judged from the
        committed rows and the chunks already handed to the writer (a post in one of those, as in a file whose
        records of a post are not consecutive, makes the chunk take the general path, in order); a row written
        by another process meanwhile makes the plan fail on a unique index, and the general path takes over.
        """
        if not sql().plans_fresh_chunks() or not units:
            return None
        posts, threads, comments, questions = gather(units)
        planned = self.ctx.state.planned_posts
        overlaps = not planned.isdisjoint(posts)
        planned.update(posts)
        if overlaps or any(
            select_in(model, key, keys, (key,)) for model, key, keys in (
                (Post, "post_id", posts), (Thread, "thread_id", threads), (Question, "qid", questions),
            )
        ):
            return None
        aggregates = self.new_thread_aggregates(threads, {}, posts, comments, questions)
        return FreshChunk(
            posts=list(posts.values()),
            threads=[{**row, **aggregates[key]} for key, row in threads.items()],
            comments=[{**row, "thread_key": key[0]} for key, row in comments.items()],
            questions=[{**row, "thread_key": thread_key} for thread_key, row in questions.values()],
            result=fresh_result(posts, threads, comments, questions),
        )

    # --- one chunk --------------------------------------------------------------------------------------------------

    def write_units(self, units: Sequence[Unit]) -> ChunkResult:
        res = ChunkResult()
        existing_posts = {
            post_id: (pk, content_hash, split)
            for post_id, pk, content_hash, split in select_in(
                Post, "post_id", {unit.post["post_id"] for unit in units}, ("post_id", "id", "content_hash", "split")
            )
        }
        units = self.drop_split_conflicts(units, existing_posts, res)
        if not units:
            return res
        posts, threads, comments, questions = gather(units)
        post_pks = self.upsert_posts(posts, existing_posts, res)
        existing_threads = {
            thread_id: (pk, content_hash)
            for thread_id, pk, content_hash in select_in(
                Thread, "thread_id", threads, ("thread_id", "id", "content_hash")
            )
        }
        aggregates = self.new_thread_aggregates(threads, existing_threads, posts, comments, questions)
        thread_pks = self.upsert(
            Thread, "thread", threads, existing_threads, THREAD_FIELDS, res,
            build=lambda key, row: {**row, "post_id": post_pks[row["post_key"]], **aggregates[key]},
            fetch_pks=lambda keys: dict(select_in(Thread, "thread_id", keys, ("thread_id", "id"))),
            parents={"post_key": lambda key, row: post_pks[row["post_key"]]},
        )
        comment_pks = self.upsert_comments(comments, existing_threads, thread_pks, res)
        self.upsert(
            Question, "question", {qid: row for qid, (_, row) in questions.items()},
            self.existing(Question, "qid", questions), QUESTION_FIELDS, res,
            build=lambda key, row: {
                **row, "thread_id": thread_pks[questions[key][0]],
                "comment_id": comment_pks.get((questions[key][0], row["comment_key"])),
            },
            fetch_pks=lambda keys: {},
            parents={"comment_key": lambda key, row: comment_pks.get((questions[key][0], row["comment_key"]))},
        )
        self.refresh_existing_threads(threads, existing_threads, comments, questions, thread_pks, res)
        self.link_waiting_mcqs([key for key in threads if key not in existing_threads], res)
        RecordChange.objects.bulk_create(res.changes, batch_size=BATCH)
        res.unchanged = sum(1 for unit in units if not self.unit_touched(unit, res.touched))
        return res

    def drop_split_conflicts(
        self, units: Iterable[Unit], existing_posts: dict[Key, tuple[int, str, str]], res: ChunkResult
    ) -> list[Unit]:
        """Reject units whose post already sits in another split: a post is never in two splits."""
        kept: list[Unit] = []
        for unit in units:
            found = existing_posts.get(unit.post["post_id"])
            new = unit.post["split"]
            if found and Split.UNASSIGNED not in (found[2], new) and found[2] != new:
                reason = (
                    f"post {unit.post['post_id']!r} is already in the {found[2]} split; "
                    f"a post is never in two splits (this file imports into {new})"
                )
                res.rejected.append((unit.line, [RecordError("split", reason)]))
            else:
                kept.append(unit)
        return kept

    @staticmethod
    def unit_touched(unit: Unit, touched: set[tuple[str, Key]]) -> bool:
        if ("post", unit.post["post_id"]) in touched or ("thread", unit.thread["thread_id"]) in touched:
            return True
        thread_key = unit.thread["thread_id"]
        return any(("comment", (thread_key, c["comment_id"])) in touched for c in unit.comments) or any(
            ("question", q["qid"]) in touched for q in unit.questions
        )

    # --- per model --------------------------------------------------------------------------------------------------

    @staticmethod
    def existing(model: type[Model], key_field: str, keys: Iterable[Key]) -> dict[Key, tuple[int, str]]:
        return {
            key: (pk, content_hash)
            for key, pk, content_hash in select_in(model, key_field, keys, (key_field, "id", "content_hash"))
        }

    def upsert_posts(
        self, posts: dict[Key, Row], existing_posts: dict[Key, tuple[int, str, str]], res: ChunkResult
    ) -> dict[Key, int | None]:
        # The split is not part of the content hash: a post gains one (unassigned -> test) but never changes it.
        existing: dict[Key, tuple[int, str]] = {}
        for post_id, (pk, content_hash, split) in existing_posts.items():
            wanted = posts[post_id]["split"]
            gains_split = split == Split.UNASSIGNED and wanted != Split.UNASSIGNED
            existing[post_id] = (pk, content_hash + ("+split" if gains_split else ""))
            if not gains_split:
                posts[post_id] = {**posts[post_id], "split": split}
        return self.upsert(
            Post, "post", posts, existing, (*POST_FIELDS, "split"), res,
            build=lambda key, row: row,
            fetch_pks=lambda keys: dict(select_in(Post, "post_id", keys, ("post_id", "id"))),
        )

    def upsert_comments(
        self, comments: dict[Key, Row], existing_threads: dict[Key, tuple[int, str]],
        thread_pks: dict[Key, int | None], res: ChunkResult,
    ) -> dict[Key, int | None]:
        key_of = {pk: thread_id for thread_id, (pk, _) in existing_threads.items()}
        existing: dict[Key, tuple[int, str]] = {}
        if key_of:
            rows = select_in(Comment, "thread_id", key_of, ("thread_id", "comment_id", "id", "content_hash"))
            existing = {(key_of[thread_pk], comment_id): (pk, h) for thread_pk, comment_id, pk, h in rows}
        return self.upsert(
            Comment, "comment", comments, existing, COMMENT_FIELDS, res,
            build=lambda key, row: {**row, "thread_id": thread_pks[key[0]]},
            fetch_pks=lambda keys: self.comment_pks(keys, thread_pks),
        )

    @staticmethod
    def comment_pks(keys: Iterable[Key], thread_pks: dict[Key, int | None]) -> dict[Key, int]:
        thread_key = {thread_pks[thread_id]: thread_id for thread_id, _ in keys}
        rows = select_in(Comment, "thread_id", thread_key, ("thread_id", "comment_id", "id"))
        return {(thread_key[thread_pk], comment_id): pk for thread_pk, comment_id, pk in rows}

    def upsert(
        self, model: CorpusModel, kind: str, rows: dict[Key, Row], existing: dict[Key, tuple[int, str]],
        fields: Sequence[str], res: ChunkResult, build: Callable[[Key, Row], Row],
        fetch_pks: Callable[[list[Key]], dict[Key, int]],
        parents: dict[str, Callable[[Key, Row], int | None]] | None = None,
    ) -> dict[Key, int | None]:
        """Create the rows not in `existing`, update those whose content hash differs; return {key: pk}.

        build(key, row) returns the new row's column values by attname; fetch_pks(keys) their primary keys.
        """
        pks: dict[Key, int | None] = {}
        created: list[tuple[Key, Row]] = []
        changed: dict[int, tuple[Key, Row]] = {}
        written = self.ctx.state.written
        for key, row in rows.items():
            found = existing.get(key)
            if found is None:
                created.append((key, build(key, row)))
                continue
            pks[key] = found[0]
            res.written.add((kind, key))
            if found[1] != row["content_hash"] and (kind, key) not in written:
                changed[found[0]] = (key, row)
        if created:
            insert_rows(model, [row for _, row in created])
            new_pks = fetch_pks([key for key, _ in created])
            for key, _ in created:
                pks[key] = new_pks.get(key)
                res.touched.add((kind, key))
                res.written.add((kind, key))
            res.created[kind] += len(created)
        if changed:
            self.update(model, kind, changed, fields, res, parents or {})
        return pks

    def update(
        self, model: CorpusModel, kind: str, changed: dict[int, tuple[Key, Row]], fields: Sequence[str],
        res: ChunkResult, parents: dict[str, Callable[[Key, Row], int | None]],
    ) -> None:
        """Update changed rows in place and record each field's old and new value as a RecordChange."""
        lookups = [FOREIGN_KEYS[name][1] if name in FOREIGN_KEYS else name for name in fields]
        objects: list[Any] = []  # instances of model
        names = {"content_hash"}
        for old in model.objects.filter(pk__in=list(changed)).values("pk", *lookups):
            key, row = changed[old["pk"]]
            diff: dict[str, list[Any]] = {}
            for name, lookup in zip(fields, lookups, strict=True):
                if old[lookup] != row[name]:
                    diff[name] = [old[lookup], row[name]]
            obj = model(pk=old["pk"], content_hash=row["content_hash"])
            for name in fields:
                if name in FOREIGN_KEYS:
                    setattr(obj, FOREIGN_KEYS[name][0], parents[name](key, row))
                else:
                    setattr(obj, name, row[name])
            names.update(FOREIGN_KEYS[name][0] if name in FOREIGN_KEYS else name for name in diff)
            objects.append(obj)
            if kind == "post" and ("title" in diff or "body" in diff):
                res.retitled_posts.add(old["pk"])
            if diff:
                res.updated[kind] += 1
                res.touched.add((kind, key))
                shown = key if isinstance(key, str) else "/".join(key)
                res.changes.append(
                    RecordChange(import_run=self.ctx.run, model=kind, key=shown[:96], changes=diff)
                )
        model.objects.bulk_update(objects, sorted(names), batch_size=BATCH)

    # --- thread aggregates ------------------------------------------------------------------------------------------

    @staticmethod
    def new_thread_aggregates(
        threads: dict[Key, Row], existing_threads: Collection[Key], posts: dict[Key, Row],
        comments: dict[Key, Row], questions: dict[Key, tuple[Key, Row]],
    ) -> dict[Key, Row]:
        """Return search text, question count and credential flag of the new threads, from the chunk alone."""
        texts: defaultdict[Key, list[tuple[int, int, str]]] = defaultdict(list)
        for thread_key, row in questions.values():
            if thread_key not in existing_threads:
                texts[thread_key].append((row["turn_index"], row["question_index"], row["text"]))
        credentialed = {key for (key, _), row in comments.items() if row["is_credentialed"]}
        aggregates: dict[Key, Row] = {}
        for key, row in threads.items():
            if key in existing_threads:
                continue
            post = posts[row["post_key"]]
            ordered = sorted(texts.get(key, ()))
            aggregates[key] = {
                "search_text": Thread.make_search_text(post["title"], post["body"], [text for *_, text in ordered]),
                "question_count": len(ordered),
                "has_credentialed_author": key in credentialed,
            }
        return aggregates

    @staticmethod
    def refresh_existing_threads(
        threads: dict[Key, Row], existing_threads: Collection[Key], comments: dict[Key, Row],
        questions: dict[Key, tuple[Key, Row]], thread_pks: dict[Key, int | None], res: ChunkResult,
    ) -> None:
        """Recompute the aggregates of existing threads whose questions, comments or post text changed."""
        touched = res.touched
        stale = {
            thread_pks[key] for key, comment_id in comments
            if key in existing_threads and ("comment", (key, comment_id)) in touched
        }
        stale.update(
            thread_pks[key] for qid, (key, _) in questions.items()
            if key in existing_threads and ("question", qid) in touched
        )
        if res.retitled_posts:
            stale.update(Thread.objects.filter(post_id__in=res.retitled_posts).values_list("id", flat=True))
        if stale:
            # every pk is known: the new threads' pks were read back right after their insert
            res.stats["thread search texts refreshed"] += refresh_threads(cast("set[int]", stale))

    @staticmethod
    def link_waiting_mcqs(new_thread_keys: list[Key], res: ChunkResult) -> None:
        """Link MediQ-AskDocs MCQs imported before their thread (stored unlinked) to the threads now created."""
        if not new_thread_keys:
            return
        waiting = list(
            MultipleChoiceCase.objects.filter(
                source=MultipleChoiceCase.Source.ASKDOCS, thread__isnull=True, case_id__in=new_thread_keys
            ).values_list("pk", "case_id")
        )
        if not waiting:
            return
        case_ids = [case_id for _, case_id in waiting]
        pks = dict(Thread.objects.filter(thread_id__in=case_ids).values_list("thread_id", "id"))
        MultipleChoiceCase.objects.bulk_update(
            [MultipleChoiceCase(pk=pk, thread_id=pks[case_id]) for pk, case_id in waiting], ["thread"], batch_size=BATCH
        )
        res.stats["mcqs linked to threads that arrived later"] += len(waiting)


def gather(
    units: Iterable[Unit],
) -> tuple[dict[Key, Row], dict[Key, Row], dict[Key, Row], dict[Key, tuple[Key, Row]]]:
    """Return the chunk's distinct rows: {post key: row}, {thread key: row}, {(thread key, comment id): row} and
    {qid: (thread key, row)}, each row as its first unit has it."""
    posts: dict[Key, Row] = {}
    threads: dict[Key, Row] = {}
    comments: dict[Key, Row] = {}
    questions: dict[Key, tuple[Key, Row]] = {}
    for unit in units:
        posts.setdefault(unit.post["post_id"], unit.post)
        thread_key = unit.thread["thread_id"]
        threads.setdefault(thread_key, unit.thread)
        for comment in unit.comments:
            comments.setdefault((thread_key, comment["comment_id"]), comment)
        for question in unit.questions:
            questions.setdefault(question["qid"], (thread_key, question))
    return posts, threads, comments, questions


def fresh_result(
    posts: dict[Key, Row], threads: dict[Key, Row], comments: dict[Key, Row], questions: dict[Key, tuple[Key, Row]],
) -> ChunkResult:
    """Return what writing a fresh chunk does: every row created, every record a change."""
    result = ChunkResult()
    keys: dict[Key, Any]
    for kind, keys in (("post", posts), ("thread", threads), ("comment", comments), ("question", questions)):
        if keys:
            result.created[kind] += len(keys)
            result.written.update((kind, key) for key in keys)
    return result


def parent_joins() -> dict[type[Model], Joins]:
    """Return, per model, how a fresh row's foreign keys are found from its parents' natural keys: a list of
    (column attname, table alias, LEFT JOIN clause with {} for the key's VALUES column, the row's key name).

    A LEFT JOIN, so a parent that is missing leaves the column null and the NOT NULL constraint refuses the row
    instead of the row being dropped. Joins cost SQLite 0.08 s for 24,800 questions; scalar subqueries, 0.7 s.
    """
    post, thread, comment = (connection.ops.quote_name(model._meta.db_table) for model in (Post, Thread, Comment))
    by_thread_key = ("thread_id", "t", f"LEFT JOIN {thread} t ON t.thread_id = {{}}", "thread_key")
    return {
        Thread: [("post_id", "p", f"LEFT JOIN {post} p ON p.post_id = {{}}", "post_key")],
        Comment: [by_thread_key],
        Question: [
            by_thread_key,
            ("comment_id", "c", f"LEFT JOIN {comment} c ON c.thread_id = t.id AND c.comment_id = {{}}", "comment_key"),
        ],
    }


class FreshChunk:
    """A chunk of rows none of which exist yet, with their INSERT values ready: built on the reading thread,
    inserted by the writer inside its transaction (ChunkWriter.plan_fresh)."""

    def __init__(
        self, posts: list[Row], threads: list[Row], comments: list[Row], questions: list[Row], result: ChunkResult
    ) -> None:
        joins = parent_joins()
        self.inserts = [
            (inserter, inserter.params(rows))
            for model, rows in ((Post, posts), (Thread, threads), (Comment, comments), (Question, questions))
            if rows
            for inserter in [Inserter.for_model(model, joins.get(model))]
        ]
        self.new_thread_keys = [row["thread_id"] for row in threads]
        self.result = result

    def execute(self) -> ChunkResult:
        for inserter, params in self.inserts:
            inserter.execute(params)
        ChunkWriter.link_waiting_mcqs(self.new_thread_keys, self.result)
        return self.result


class Inserter:
    """INSERT rows of one model with multi-row statements: no model instances, JSON dumped by orjson.

    Many rows per statement matter on SQLite: the full-text trigger on corpus_thread then flushes its index once
    per statement instead of once per row.
    """

    cache: dict[tuple[type[Model], str, bool], "Inserter"] = {}

    def __init__(self, model: type[Model], joins: Joins | None = None) -> None:
        """joins: foreign-key columns filled from the parents' natural keys by SQL (see parent_joins; SQLite
        only, as COPY takes plain values); the rows then carry those keys instead of the pks."""
        joins = joins or []
        joined = {attname for attname, *_ in joins}
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        plain = [f for f in fields if f.attname not in joined]
        self.columns = [f.attname for f in plain] + [key_name for *_, key_name in joins]
        self.json_positions = [i for i, f in enumerate(plain) if isinstance(f, JSONField)]
        self.column_list = columns = ", ".join(quote(cast(str, f.column)) for f in fields)  # concrete: has a column
        self.table = table = quote(model._meta.db_table)
        self.placeholder = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        if joins:
            value_of = {name: f"v.column{i + 1}" for i, name in enumerate(self.columns)}
            alias_of = {attname: alias for attname, alias, *_ in joins}
            selected = ", ".join(
                f"{alias_of[f.attname]}.id" if f.attname in joined else value_of[f.attname] for f in fields
            )
            self.head = f"INSERT INTO {table} ({columns}) SELECT {selected} FROM (VALUES "  # noqa: S608 - names from the model
            self.tail = ") v " + " ".join(clause.format(value_of[key]) for _, _, clause, key in joins)
        else:
            self.head, self.tail = f"INSERT INTO {table} ({columns}) VALUES ", ""  # noqa: S608 - names from the model
        self.per_statement = max(1, min(500, sql().max_parameters() // len(self.columns)))
        self.sql: dict[int, str] = {}

    @classmethod
    def for_model(cls, model: type[Model], joins: Joins | None = None) -> "Inserter":
        key = (model, sql().__name__, bool(joins))  # quoting and statement sizes are the database's
        if key not in cls.cache:
            cls.cache[key] = cls(model, joins)
        return cls.cache[key]

    def statement(self, rows: int) -> str:
        if rows not in self.sql:
            self.sql[rows] = self.head + ", ".join([self.placeholder] * rows) + self.tail
        return self.sql[rows]

    def insert(self, rows: Iterable[Row]) -> None:
        """Insert rows (dicts holding every column by attname)."""
        self.execute(self.params(rows))

    def params(self, rows: Iterable[Row]) -> list[Any]:
        """Return the rows' values, flat, in statement order, JSON dumped: all that insert needs of them."""
        getter, json_positions, dumps = itemgetter(*self.columns), self.json_positions, orjson.dumps
        params: list[Any] = []
        for row in rows:
            values = getter(row)
            if json_positions:
                values = list(values)
                for i in json_positions:
                    values[i] = dumps(values[i]).decode()
            params.extend(values)
        return params

    def execute(self, params: list[Any]) -> None:
        """Insert the rows whose flat values params holds (see params()): INSERTs or COPY, as the database does best."""
        sql().write_rows(self, params)


def select_in(
    model: type[Model], key_column: str, keys: Iterable[Any], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Return rows (tuples of `columns`) of model whose key_column is in keys: plain SQL, keys in batches."""
    keys = list(keys)
    if not keys:
        return []
    quote = connection.ops.quote_name
    selected = ", ".join(quote(c) for c in columns)
    head = f"SELECT {selected} FROM {quote(model._meta.db_table)} WHERE {quote(key_column)} IN "  # noqa: S608
    rows: list[tuple[Any, ...]] = []
    step = max(1, min(10_000, sql().max_parameters() - 1))
    with connection.cursor() as cursor:
        for start in range(0, len(keys), step):
            batch = keys[start:start + step]
            cursor.execute(head + "(" + ", ".join(["%s"] * len(batch)) + ")", batch)
            rows.extend(cursor.fetchall())
    return rows


def insert_rows(model: type[Model], rows: Iterable[Row]) -> None:
    Inserter.for_model(model).insert(rows)


def refresh_threads(thread_pks: Iterable[int]) -> int:
    """Recompute threads' search_text, question_count and has_credentialed_author; return how many changed."""
    thread_pks = list(thread_pks)
    texts: defaultdict[int, list[str]] = defaultdict(list)
    for thread_pk, text in (
        Question.objects.filter(thread_id__in=thread_pks)
        .order_by("thread_id", "turn_index", "question_index", "qid")
        .values_list("thread_id", "text")
    ):
        texts[thread_pk].append(text)
    credentialed = set(
        Comment.objects.filter(thread_id__in=thread_pks, is_credentialed=True).values_list("thread_id", flat=True)
    )
    updates = []
    for pk, title, body, search_text, count, has_credentialed in Thread.objects.filter(pk__in=thread_pks).values_list(
        "pk", "post__title", "post__body", "search_text", "question_count", "has_credentialed_author"
    ):
        new = Thread(
            pk=pk,
            search_text=Thread.make_search_text(title, body, texts.get(pk, [])),
            question_count=len(texts.get(pk, [])),
            has_credentialed_author=pk in credentialed,
        )
        if (new.search_text, new.question_count, new.has_credentialed_author) != (search_text, count, has_credentialed):
            updates.append(new)
    Thread.objects.bulk_update(updates, ["search_text", "question_count", "has_credentialed_author"], batch_size=BATCH)
    return len(updates)
