"""``autograder``: the instructors' command line.

    autograder release [LESSON ...] [--check]   make lessons/ from solutions/ (or check it)
    autograder verify [LESSON ...]              solutions pass every test, lessons fail only them
    autograder grade LESSON [STUDENT ...]       autograde course-data/submitted/STUDENT/LESSON
    autograder feedback LESSON [STUDENT ...]    feedback HTML in course-data/feedback
    autograder export [--to grades.csv]         one row per student and lesson
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import release as release_module
from autograder import verify as verify_module
from autograder.config import REPO_ROOT


def _lessons(requested: list[str]) -> list[str]:
    known = release_module.assignment_ids(REPO_ROOT)
    unknown = sorted(set(requested) - set(known))
    if unknown:
        sys.exit(f"unknown lesson(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return requested or known


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
    from autograder.grading import Course, GradingError

    course = Course()
    course.generate(args.lesson)
    students = args.students or course.students(args.lesson)
    if not students:
        print(f"no submissions in {course.submitted}/<student>/{args.lesson}/")
        return 1
    failed = 0
    for number, student in enumerate(students, 1):
        try:
            course.autograde(args.lesson, student)
            score, max_score = course.total(args.lesson, student)
            print(f"[{number}/{len(students)}] {student}: {score:g} / {max_score:g}")
        except GradingError as error:
            failed += 1
            print(f"[{number}/{len(students)}] {student}: not graded: {error}")
    return 1 if failed else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.grading import Course

    course = Course()
    for student in args.students or course.students(args.lesson):
        print(course.generate_feedback(args.lesson, student))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autograder.grading import Course

    rows = Course().export_csv(Path(args.to))
    print(f"wrote {rows} row(s) to {args.to}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate lessons/ from solutions/")
    p.add_argument("lessons", nargs="*")
    p.add_argument("--check", action="store_true",
                   help="regenerate in a scratch folder and fail if lessons/ differs")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("verify", help="execute solutions and lessons and check their behaviour")
    p.add_argument("lessons", nargs="*")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("grade", help="autograde submitted notebooks")
    p.add_argument("lesson")
    p.add_argument("students", nargs="*")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="write feedback HTML for graded submissions")
    p.add_argument("lesson")
    p.add_argument("students", nargs="*")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="export grades as CSV")
    p.add_argument("--to", default="grades.csv")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
