#!/usr/bin/env bash
# bench-placement.sh compares Meridian's placement solver with CBC and GLPK
# on generated instances (see docs/placement.md).
#
# For each size it runs `meridian bench placement --emit-lp`, then solves
# the very same MILP with cbc and glpsol under a time limit, and prints cost,
# time and the ratios side by side. Cost ratio is Meridian's cost over the
# solver's; speed-up is the solver's wall time over Meridian's solve time.
#
# Usage: scripts/bench-placement.sh [SIZE...]   (SIZE is WORKLOADSxTARGETS)
# Env:   TIME_LIMIT  seconds per external solver and instance (default 60)
#        SEED        generator seed (default 1)
#        KEEP        directory to keep the LP files and solver logs in
set -euo pipefail

cd "$(dirname "$0")/.."
TIME_LIMIT=${TIME_LIMIT:-60}
SEED=${SEED:-1}
SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then
	SIZES=(200x20 1000x50 5000x100)
fi

need=()
command -v cbc >/dev/null 2>&1 || need+=(coinor-cbc)
command -v glpsol >/dev/null 2>&1 || need+=(glpk-utils)
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "installing ${need[*]}..." >&2
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >&2
fi

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
echo "building meridian..." >&2
go build -o "$work/meridian" ./cmd/meridian

# json_field FILE KEY prints a numeric field of Meridian's one-line JSON.
json_field() { sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" "$1"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.4f", a / b }'; }
speedup() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.0fx", a / b }'; }

printf '%-9s %-9s %16s %9s  %-24s %10s %9s\n' size solver cost "time(s)" status "cost ratio" speed-up
for size in "${SIZES[@]}"; do
	w=${size%x*}
	t=${size#*x}
	lp="$work/p${size}.lp"
	"$work/meridian" bench placement --workloads "$w" --targets "$t" --seed "$SEED" --emit-lp "$lp" >"$work/meridian-$size.json"
	m_cost=$(json_field "$work/meridian-$size.json" cost)
	m_time=$(json_field "$work/meridian-$size.json" seconds)
	m_gap=$(json_field "$work/meridian-$size.json" gap_percent)
	m_lb=$(json_field "$work/meridian-$size.json" lower_bound)
	printf '%-9s %-9s %16.2f %9.3f  %-24s %10s %9s\n' "$size" meridian "$m_cost" "$m_time" "gap ${m_gap}% (lb $(printf '%.2f' "$m_lb"))" 1.0000 1x

	# CBC: "Objective value:" for a MIP, "Optimal objective" when presolve
	# leaves a pure LP.
	start=$(now)
	timeout $((TIME_LIMIT + 60)) cbc "$lp" sec "$TIME_LIMIT" solve >"$work/cbc-$size.log" 2>&1 || true
	c_time=$(elapsed "$start" "$(now)")
	c_cost=$(sed -n 's/^Objective value: *\([-0-9.eE+]*\).*/\1/p; s/^Optimal objective *\([-0-9.eE+]*\).*/\1/p' "$work/cbc-$size.log" | tail -1)
	c_status=$(sed -n 's/^Result - //p' "$work/cbc-$size.log" | tail -1)
	c_status=${c_status:-no result}
	case $c_status in
	"Optimal solution found"*) c_status=optimal ;;
	"Stopped on time"*) c_status="time limit (gap $(sed -n 's/^Gap: *//p' "$work/cbc-$size.log" | tail -1))" ;;
	esac
	printf '%-9s %-9s %16s %9s  %-24s %10s %9s\n' "" cbc "${c_cost:--}" "$c_time" "$c_status" "$(ratio "$m_cost" "$c_cost")" "$(speedup "$c_time" "$m_time")"

	# GLPK: --tmlim bounds the search; the report file has the best
	# solution found and its status.
	start=$(now)
	timeout $((TIME_LIMIT + 60)) glpsol --lp "$lp" --tmlim "$TIME_LIMIT" -o "$work/glpk-$size.txt" >"$work/glpk-$size.log" 2>&1 || true
	g_time=$(elapsed "$start" "$(now)")
	g_cost=""
	g_status="no result"
	if [ -f "$work/glpk-$size.txt" ]; then
		g_cost=$(sed -n 's/^Objective: *[a-z_]* = *\([-0-9.eE+]*\).*/\1/p' "$work/glpk-$size.txt" | head -1)
		g_status=$(sed -n 's/^Status: *//p' "$work/glpk-$size.txt" | head -1)
	fi
	grep -q "TIME LIMIT EXCEEDED" "$work/glpk-$size.log" && g_status="time limit ($g_status)"
	case $g_status in
	"INTEGER OPTIMAL" | OPTIMAL) g_status=optimal ;;
	*UNDEFINED*) g_cost="" ;;
	esac
	printf '%-9s %-9s %16s %9s  %-24s %10s %9s\n' "" glpk "${g_cost:--}" "$g_time" "$g_status" "$(ratio "$m_cost" "$g_cost")" "$(speedup "$g_time" "$m_time")"
done
