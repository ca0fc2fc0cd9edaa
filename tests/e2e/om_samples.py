#!/usr/bin/python3
"""Read metrics text on stdin with python3's prometheus_client parsers, the
strict OpenMetrics one or the Prometheus 0.0.4 one, and print what they
read: a line "family TYPE unit" per family, then "name{labels} value" per
sample, labels sorted. Exits 1 with the parser's error on bad text.

    om_samples.py openmetrics|prometheus < text
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_prom


def main():
    parse = parse_om if sys.argv[1] == "openmetrics" else parse_prom
    try:
        families = list(parse(sys.stdin.read()))
    except ValueError as e:
        print("parse error: %s" % e)
        return 1
    for f in families:
        print("%s %s %s" % (f.name, f.type, f.unit or "-"))
        for s in f.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            value = int(s.value) if float(s.value).is_integer() else s.value
            print("  %s%s %s" % (s.name, "{%s}" % labels if labels else "", value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
