#!/usr/bin/env bash
# bench-placement.sh compares Meridian's placement solver with CBC and GLPK
# on generated instances (see docs/placement.md).
#
# For each size it runs `meridian bench placement --emit-lp`, then solves
# the very same MILP with cbc and glpsol under a time limit, and prints cost,
# time and the ratios side by side. Cost ratio is Meridian's cost over the
# solver's; speed-up is the solver's wall time over Meridian's solve time
# (the fastest of 5 solves, which all find the same solution).
#
# Usage: scripts/bench-placement.sh [SIZE...]   (SIZE is WORKLOADSxTARGETS)
# Env:   TIME_LIMIT  seconds per external solver and instance (default 60)
#        SEED        generator seed (default 1)
#        GENERATOR   instance generator: default, or sites for the
#                    site-heavy instances (fixed-size, oversubscribed sites)
#        KEEP        directory to keep the LP files and solver logs in
set -euo pipefail

cd "$(dirname "$0")/.."
TIME_LIMIT=${TIME_LIMIT:-60}
SEED=${SEED:-1}
GENERATOR=${GENERATOR:-default}
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

# gap_pct COST BOUND prints 100 × (cost − bound) / cost.
gap_pct() { awk -v c="$1" -v b="$2" 'BEGIN { if (c == "" || b == "" || c + 0 == 0) print "-"; else printf "%.4f%%", 100 * (c - b) / c }'; }
row() { printf '%-9s %-9s %14s %14s %9s  %-22s %10s %9s\n' "$@"; }

row size solver cost "lower bound" "time(s)" status "cost ratio" speed-up
for size in "${SIZES[@]}"; do
	w=${size%x*}
	t=${size#*x}
	lp="$work/p${size}.lp"
	"$work/meridian" bench placement --workloads "$w" --targets "$t" --seed "$SEED" --generator "$GENERATOR" --repeat 5 --emit-lp "$lp" >"$work/meridian-$size.json"
	m_cost=$(json_field "$work/meridian-$size.json" cost)
	m_time=$(json_field "$work/meridian-$size.json" seconds)
	m_gap=$(json_field "$work/meridian-$size.json" gap_percent)
	m_lb=$(json_field "$work/meridian-$size.json" lower_bound)
	row "$size" meridian "$(printf '%.2f' "$m_cost")" "$(printf '%.2f' "$m_lb")" "$(printf '%.3f' "$m_time")" "gap ${m_gap}%" 1.0000 1x

	# CBC: "Objective value:" for a MIP, "Optimal objective" when presolve
	# leaves a pure LP; "Lower bound:" when it stops on time.
	start=$(now)
	timeout $((TIME_LIMIT + 60)) cbc "$lp" sec "$TIME_LIMIT" solve >"$work/cbc-$size.log" 2>&1 || true
	c_time=$(elapsed "$start" "$(now)")
	c_cost=$(sed -n 's/^Objective value: *\([-0-9.eE+]*\).*/\1/p; s/^Optimal objective *\([-0-9.eE+]*\).*/\1/p' "$work/cbc-$size.log" | tail -1)
	c_lb=$(sed -n 's/^Lower bound: *\([-0-9.eE+]*\).*/\1/p' "$work/cbc-$size.log" | tail -1)
	case $(sed -n 's/^Result - //p' "$work/cbc-$size.log" | tail -1) in
	"Optimal solution found"*) c_status=optimal c_lb=$c_cost ;;
	"Stopped on time"*) c_status="time limit, gap $(gap_pct "$c_cost" "$c_lb")" ;;
	"") c_status="no result" ;;
	*) c_status=$(sed -n 's/^Result - //p' "$work/cbc-$size.log" | tail -1) ;;
	esac
	[ -z "$c_cost" ] || c_cost=$(printf '%.2f' "$c_cost")
	[ -z "$c_lb" ] || c_lb=$(printf '%.2f' "$c_lb")
	row "" cbc "${c_cost:--}" "${c_lb:--}" "$c_time" "$c_status" "$(ratio "$m_cost" "$c_cost")" "$(speedup "$c_time" "$m_time")"

	# GLPK: --tmlim bounds the search; the report file has the best
	# solution and its status, the log's last "mip =" line the bound.
	start=$(now)
	timeout $((TIME_LIMIT + 60)) glpsol --lp "$lp" --tmlim "$TIME_LIMIT" -o "$work/glpk-$size.txt" >"$work/glpk-$size.log" 2>&1 || true
	g_time=$(elapsed "$start" "$(now)")
	g_cost="" g_lb="" g_status="no result"
	if [ -f "$work/glpk-$size.txt" ]; then
		g_cost=$(sed -n 's/^Objective: *[a-z_]* = *\([-0-9.eE+]*\).*/\1/p' "$work/glpk-$size.txt" | head -1)
		g_status=$(sed -n 's/^Status: *//p' "$work/glpk-$size.txt" | head -1)
	fi
	g_lb=$(sed -n 's/.*mip = *[-0-9.eE+]* >= *\([-0-9.eE+]*\).*/\1/p' "$work/glpk-$size.log" | tail -1)
	case $g_status in
	"INTEGER OPTIMAL" | OPTIMAL) g_status=optimal g_lb=$g_cost ;;
	"INTEGER NON-OPTIMAL") g_status="time limit, gap $(gap_pct "$g_cost" "$g_lb")" ;;
	*UNDEFINED*) g_status="time limit, no solution" g_cost="" ;;
	esac
	[ -z "$g_cost" ] || g_cost=$(printf '%.2f' "$g_cost")
	[ -z "$g_lb" ] || g_lb=$(printf '%.2f' "$g_lb")
	row "" glpk "${g_cost:--}" "${g_lb:--}" "$g_time" "$g_status" "$(ratio "$m_cost" "$g_cost")" "$(speedup "$g_time" "$m_time")"
done
