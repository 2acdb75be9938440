#!/usr/bin/env python3
"""Writes a generated CircleCI 2.1 config of N jobs on stdout, for the scaling benchmark.

    bench/gen-config.py N

Each job checks out, calls a parameterised command (cache restore/save keyed on a checksum)
and runs two commands using its own parameter; every tenth job is a matrix of three; jobs
form requires chains of ten, in workflows of a thousand jobs. The text is the same for the same N.
"""
import sys


def main():
    n = int(sys.argv[1])
    out = [
        "version: 2.1",
        "",
        "executors:",
        "  node:",
        "    docker:",
        "      - image: cimg/node:20.11",
        "    resource_class: small",
        "",
        "commands:",
        "  install:",
        "    parameters:",
        "      cache-version:",
        "        type: string",
        "        default: v1",
        "    steps:",
        "      - restore_cache:",
        "          keys:",
        '            - << parameters.cache-version >>-deps-{{ checksum "package-lock.json" }}',
        "      - run:",
        "          name: Install",
        "          command: npm ci",
        "      - save_cache:",
        '          key: << parameters.cache-version >>-deps-{{ checksum "package-lock.json" }}',
        "          paths:",
        "            - node_modules",
        "",
        "jobs:",
    ]
    for i in range(n):
        out += [
            f"  job-{i}:",
            "    executor: node",
            "    parameters:",
            "      target:",
            "        type: string",
            f'        default: "t{i % 7}"',
            "    steps:",
            "      - checkout",
            "      - install:",
            f"          cache-version: v{i % 5}",
            "      - run:",
            "          name: Build << parameters.target >>",
            "          command: |",
            '            npm run build -- --target="<< parameters.target >>"',
            f'            echo "built job {i}"',
            "      - run: npm test",
        ]
    out += ["", "workflows:"]
    for i in range(n):
        # Workflows of a thousand jobs: CircleCI (and Orrery) limit jobs per workflow.
        if i % 1000 == 0:
            out += [f"  build-{i // 1000}:", "    jobs:"]
        lines = [f"      - job-{i}:"]
        if i % 10 != 0:
            lines.append(f"          requires: [job-{i - 1}]")
        if i % 10 == 5:
            lines += [
                "          matrix:",
                "            parameters:",
                "              target: [linux, macos, windows]",
            ]
        if len(lines) == 1:
            lines = [f"      - job-{i}"]
        out += lines
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
