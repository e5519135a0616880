"""``autograder``: the instructors' command line.

    autograder release [LESSON ...] [--check]   make lessons/ from solutions/ (or check it)
    autograder verify [LESSON ...]              solutions pass every test, lessons fail only them
    autograder grade [LESSON ...] [--from DIR_OR_ZIP]   grade a class in parallel
    autograder feedback LESSON [STUDENT ...] [--zip FILE --for canvas|moodle]
                                                feedback HTML in course-data/feedback, and
                                                a zip the LMS attaches to each student
    autograder export [--to grades.csv] [--canvas|--moodle GRADEBOOK.csv]
                                                one row per student and lesson, or the
                                                LMS's own gradebook export filled in
    autograder report LESSON [--to report.html] what the class got wrong, as one HTML page
    autograder mutants [LESSON ...] [--report PATH]   grading quality: mutants, alternatives

LESSON is a lesson's id (04-forward-mode), number (4) or name (forward_mode).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from autograder import lessons as course_lessons
from autograder import release as release_module
from autograder import verify as verify_module
from autograder.config import REPO_ROOT


def _lessons(requested: list[str]) -> list[str]:
    """Lesson ids of ``requested`` (ids, numbers or names; default: every lesson)."""
    found, unknown = [], []
    for key in requested:
        try:
            found.append(course_lessons.lesson(key).id)
        except KeyError:
            unknown.append(key)
    if unknown:
        sys.exit(f"unknown lesson(s): {', '.join(sorted(unknown))}; "
                 f"known: {', '.join(course_lessons.lesson_ids())}")
    return found or course_lessons.lesson_ids()


def cmd_release(args: argparse.Namespace) -> int:
    if args.check:
        problems = release_module.check_release(REPO_ROOT)
        if problems:
            print("lessons/ is not what `autograder release` generates from solutions/:")
            print("\n".join(f"  {p}" for p in problems))
            print("Run `autograder release` and commit lessons/.")
            return 1
        print("lessons/ is exactly what generation gives.")
        return 0
    lessons = _lessons(args.lessons)
    release_module.generate(lessons)
    print(f"released {len(lessons)} lesson(s) into lessons/: {', '.join(lessons)}")
    return 0


def cmd_demos(args: argparse.Namespace) -> int:
    from autograder import demo_cells, notebooks

    for lesson_id in _lessons(args.lessons):
        nb = notebooks.read(course_lessons.lesson(lesson_id).solution)
        rows = demo_cells.review(nb)
        print(f"{lesson_id}: {sum(v == 'left out' for _, v, _ in rows)} demo cell(s) left out "
              "when graded")
        for index, verdict, detail in rows:
            if verdict != "left out" or args.all:
                print(f"  cell {index:3d} {verdict:16s} {detail}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    failures = 0
    for report in verify_module.verify(_lessons(args.lessons)):
        name = report.notebook.relative_to(REPO_ROOT)
        print(f"{'ok  ' if report.ok else 'FAIL'} {name}")
        for problem in report.problems:
            print(f"     {problem}")
        failures += not report.ok
    return 1 if failures else 0


def cmd_grade(args: argparse.Namespace) -> int:
    from autograder import classgrade, intake, lms
    from autograder.config import DATA_DIRECTORY
    from autograder.grading import Course

    course = Course()
    lessons = _lessons(args.lessons)
    source = Path(args.source) if args.source else course.submitted
    if not source.exists():
        print(f"no submissions at {source}")
        return 1
    try:
        found = intake.collect(source, classgrade.lesson_grade_ids(course, _lessons([])),
                               student_pattern=args.student_pattern, lessons=lessons)
    except ValueError as error:  # an invalid --student-pattern
        print(error, file=sys.stderr)
        return 1
    found = [s for s in found if s.lesson in lessons or s.lesson is None]
    lms.remember(course.root / DATA_DIRECTORY, found)  # download names, for export/feedback
    from autograder import run_progress

    where = (f"on the Dask cluster at {args.scheduler}" if args.scheduler
             else f"with {args.workers} worker(s)")
    print(f"{len(found)} submission(s) from {source}, grading {where}")
    tracker = run_progress.terminal_tracker()
    # Workers write the feedback pages beside the graded notebooks; the run saves them.
    run = classgrade.ClassRun(course, workers=args.workers, force=args.force,
                              secrets=(source.resolve(),), feedback=not args.no_feedback,
                              scheduler=args.scheduler, tracker=tracker)
    started = time.monotonic()
    try:
        results = run.run(found, progress=tracker.write if tracker else print)
    except classgrade.RefusedToGrade as refusal:
        print(f"\n{refusal}", file=sys.stderr)
        return 2
    finally:
        if tracker is not None:
            tracker.close()
    seconds = time.monotonic() - started
    print(f"graded in {seconds:.1f} s")
    if not args.no_feedback:
        print(f"feedback: {course.feedback_directory}/<student>/<lesson>/")
    csv_path = Path(args.csv)
    rows = course.export_csv(csv_path, problems=[r for r in results if r.problem is not None],
                             current=_current(results))
    print(f"grades: {csv_path} ({rows} rows)")
    _print_summary(course, results)
    print("\n" + "\n".join(run_progress.summary(results, seconds)))
    print("\n" + "\n".join(run_progress.breakdown(run.timings) or ["nothing was graded"]))
    return 0


def _current(results) -> set[tuple[str, str]]:
    """(student, lesson) of the submissions graded or kept in a run."""
    return {(r.student, r.lesson) for r in results if r.problem is None}


def _totals(course) -> dict[tuple[str, str], tuple[float, float]]:
    """(score, max score) of every stored submission by (student, lesson), read in one
    gradebook session (a session per submission costs a class of thousands minutes)."""
    from nbgrader.api import Gradebook

    from autograder.config import COURSE_ID

    totals = {}
    with Gradebook(course.db_url, COURSE_ID) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                totals[(submission.student.id, assignment.name)] = (
                    float(submission.score), float(submission.max_score))
    return totals


def _print_summary(course, results) -> None:
    """A table of scores, then what was not graded, what needs review and grading's notes."""
    totals = _totals(course)
    lessons = sorted({r.lesson for r in results})
    students = sorted({r.student for r in results})
    current = _current(results)
    # A graded or kept result wins over a problem of the same student and lesson.
    by_key = {(r.student, r.lesson): r for r in sorted(results, key=lambda r: r.problem is None)}
    width = max([len(s) for s in students] + [7])
    print("\n" + "student".ljust(width) + "".join(f"  {lesson[:18]:>18}" for lesson in lessons))
    for student in students:
        cells = []
        for lesson in lessons:
            result = by_key.get((student, lesson))
            if result is None:
                cells.append("-")
            elif result.problem is not None:
                cells.append("not graded")
            else:
                score, max_score = totals.get((student, lesson), (0.0, 0.0))
                flag = " R" if result.review else ""
                cells.append(f"{score:g}/{max_score:g}{flag}")
        print(student.ljust(width) + "".join(f"  {cell:>18}" for cell in cells))
    not_graded = [r for r in results if r.problem is not None]
    if not_graded:
        print(f"\nnot graded ({len(not_graded)}):")
        for result in not_graded:
            score, max_score = totals.get((result.student, result.lesson), (0.0, 0.0))
            earlier = max_score and (result.student, result.lesson) not in current
            stored = (f" (the stored grade, {score:g}/{max_score:g}, is an earlier file's)"
                      if earlier else "")
            print(f"  {result.student} {result.lesson}: {result.problem}{stored}")
    for kind, title in (("review", "flagged for review (R)"), ("notes", "grading notes")):
        marked = [r for r in results if getattr(r, kind)]
        if marked:
            print(f"\n{title} ({len(marked)}):")
            for result in marked:
                print(f"  {result.student} {result.lesson}: {'; '.join(getattr(result, kind))}")


def cmd_feedback(args: argparse.Namespace) -> int:
    from autograder import lms
    from autograder.config import DATA_DIRECTORY
    from autograder.grading import Course

    if bool(args.zip) != bool(args.lms):
        print("--zip and --for go together: --zip FILE --for canvas|moodle", file=sys.stderr)
        return 1
    course = Course()
    (lesson_id,) = _lessons([args.lesson])
    # Graded students: those of course-data/submitted and those graded from a download.
    students = args.students or sorted(set(course.students(lesson_id)) | {
        grade.student for grade in lms.course_grades(course) if grade.lesson == lesson_id})
    for student in students:
        print(course.generate_feedback(lesson_id, student))
    if not args.zip:
        return 0
    known = lms.downloads(course.root / DATA_DIRECTORY, course_lessons.lesson_ids())
    report = lms.feedback_zip(course.feedback_directory, lesson_id, students, args.lms, known,
                              Path(args.zip))
    print(f"{args.zip}: {len(report.entries)} feedback page(s) named for {args.lms} "
          f"({_LMS_UPLOAD[args.lms]})")
    if report.missing:
        print(f"not in the zip ({len(report.missing)}):")
        for student, why in report.missing:
            print(f"  {student}: {why}")
    return 0


#: Where each LMS takes the feedback zip.
_LMS_UPLOAD = {"canvas": "the assignment's page: Re-Upload Submissions",
               "moodle": "View all submissions > Grading action: Upload multiple feedback "
                         "files in a zip"}


def cmd_export(args: argparse.Namespace) -> int:
    from autograder import lms
    from autograder.config import DATA_DIRECTORY
    from autograder.grading import Course

    course = Course()
    if not (args.canvas or args.moodle):
        rows = course.export_csv(Path(args.to))
        print(f"wrote {rows} row(s) to {args.to}")
        return 0
    kind, gradebook = (lms.CANVAS, args.canvas) if args.canvas else (lms.MOODLE, args.moodle)
    known = lms.downloads(course.root / DATA_DIRECTORY, course_lessons.lesson_ids())
    try:
        report = lms.export(Path(gradebook), kind, Path(args.to), lms.course_grades(course),
                            known)
    except (OSError, lms.GradebookError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"wrote {args.to}: {report.filled} grade(s) filled into {gradebook} "
          f"({kind.capitalize()} gradebook); import it into the LMS")
    for lesson, title in report.columns.items():
        print(f"  {lesson} -> column {title!r}" + (" (new)" if title in report.created else ""))
    for note in report.notes:
        print(f"  note: {note}")
    if report.unmatched:
        print(f"\nnot matched ({len(report.unmatched)}):")
        for item in report.unmatched:
            print(f"  {item.line()}")
    if args.unmatched:
        lms.write_unmatched(report, Path(args.unmatched))
        print(f"unmatched: {args.unmatched} ({len(report.unmatched)} row(s))")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from autograder import report, report_html
    from autograder.grading import Course

    (lesson_id,) = _lessons([args.lesson])
    data = report.collect(Course(), lesson_id, Path(args.grades))
    path = report_html.write(data, Path(args.to or f"report-{lesson_id}.html"))
    summary = data.summary()
    print(f"report of {lesson_id}: {summary['graded']} graded, {summary['not_graded']} not "
          f"graded, {summary['flagged']} flagged for review; written to {path}")
    return 0


def cmd_mutants(args: argparse.Namespace) -> int:
    from autograder import mutation

    lessons = _lessons(args.lessons)
    print(f"grading mutants and alternatives of {len(lessons)} lesson(s) "
          f"with {args.workers} worker(s)")

    def done(lesson, outcomes, seconds) -> None:
        print(f"\n{lesson} ({len(outcomes)} entries, {seconds:.0f} s since start)")
        for exercise, row in mutation.rows(outcomes).get(lesson, {}).items():
            print(f"  {'ok  ' if row.goals_met else 'LOOK'} {exercise:<20} "
                  + "  ".join(f"{h}: {c}" for h, c in zip(mutation.HEADER[1:], row.cells(),
                                                           strict=True)))

    started = time.monotonic()
    outcomes = mutation.run(lessons, generated=not args.no_generated, cap=args.cap,
                            timeout=args.timeout, workers=args.workers, done=done)
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mutation.report(outcomes, generated=not args.no_generated) + "\n",
                    encoding="utf-8")
    overall = mutation.total(outcomes)
    print(f"\n{len(outcomes)} entries in {time.monotonic() - started:.0f} s; report: {path}")
    print("  " + "  ".join(f"{h}: {c}" for h, c in zip(mutation.HEADER[1:], overall.cells(),
                                                      strict=True)))
    return 0 if overall.goals_met else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate lessons/ from solutions/")
    p.add_argument("lessons", nargs="*")
    p.add_argument("--check", action="store_true",
                   help="regenerate in a scratch folder and fail if lessons/ differs")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("demos", help="which cells grading leaves out as demos, which tagged "
                       "ones still run and why, and which could be tagged")
    p.add_argument("lessons", nargs="*")
    p.add_argument("--all", action="store_true", help="list the cells left out too")
    p.set_defaults(func=cmd_demos)

    p = sub.add_parser("verify", help="execute solutions and lessons and check their behaviour")
    p.add_argument("lessons", nargs="*")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("grade", help="grade a class: a folder of submissions or an LMS zip")
    p.add_argument("lessons", nargs="*", help="lessons to grade (default: all)")
    p.add_argument("--from", dest="source",
                   help="folder or zip of submissions (default: course-data/submitted)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel grading workers (default: one per core)")
    p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    p.add_argument("--csv", default="grades.csv", help="where to write the grades CSV")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on the Dask cluster whose scheduler is at ADDRESS "
                        "(tcp://host:8786 or tls://...; needs the cluster extra)")
    p.add_argument("--student-pattern",
                   help="regular expression with a `student` group, matched on file names")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="write feedback HTML for graded submissions")
    p.add_argument("lesson")
    p.add_argument("students", nargs="*")
    p.add_argument("--zip", help="also write the feedback pages into this zip, named for --for")
    p.add_argument("--for", dest="lms", choices=("canvas", "moodle"),
                   help="the LMS the zip is uploaded to (Canvas: Re-Upload Submissions; "
                        "Moodle: Upload multiple feedback files in a zip)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="export grades as CSV, or into the LMS's gradebook export")
    p.add_argument("--to", default="grades.csv", help="the CSV to write (default: grades.csv)")
    into = p.add_mutually_exclusive_group()
    into.add_argument("--canvas", metavar="GRADEBOOK.csv",
                      help="Canvas's gradebook export: write a copy with each lesson's column "
                           "filled, for Canvas's gradebook import")
    into.add_argument("--moodle", metavar="GRADES.csv",
                      help="Moodle's grade export (CSV): write a copy with each lesson's "
                           "column filled, for Moodle's CSV grade import")
    p.add_argument("--unmatched", metavar="PATH",
                   help="with --canvas/--moodle: also write the grades and students that "
                        "did not match as CSV")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="one HTML page on a graded lesson: scores, pass rates, "
                       "the most frequent mistakes, flags and submissions not graded")
    p.add_argument("lesson")
    p.add_argument("--to", help="HTML file to write (default: report-<lesson>.html)")
    p.add_argument("--grades", default="grades.csv",
                   help="the grades CSV of `autograder grade`, for why files intake turned "
                   "away were not graded (default: grades.csv, when it exists)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("mutants", help="grade mutants and alternative answers through the "
                       "grading path; exit 1 unless every goal is met")
    p.add_argument("lessons", nargs="*", help="lessons to analyse (default: all)")
    p.add_argument("--report", default=str(REPO_ROOT / "docs" / "grading-quality.md"),
                   help="Markdown report to write (default: docs/grading-quality.md)")
    p.add_argument("--no-generated", action="store_true",
                   help="only the banks' hand-written mutants and alternatives")
    p.add_argument("--cap", type=int, default=40, help="generated mutants per exercise")
    p.add_argument("--timeout", type=float, default=120,
                   help="seconds one entry may run (answer cell and its tests)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="lessons graded in parallel, one kernel each (default: one per core)")
    p.set_defaults(func=cmd_mutants)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
