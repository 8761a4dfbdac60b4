#!/bin/sh
# Regenerate the platform-shaped answers: examples/nhsa/CITY.out.jsonl from CITY.jsonl.
# `sh examples/nhsa/run.sh [OUTDIR]` (default: beside the requests); MED overrides the command.
# The parameters are examples/run.sh's example figures, each to the policy that declares it.
cd "$(dirname "$0")/../.."
out="${1:-examples/nhsa}"
med="${MED:-med}"
for city in suihua suizhou shaoxing binzhou ziyang; do
    case $city in
        ziyang) params="--param avg_wage=60000" ;;
        shaoxing) params="--param b_prepay=10% --param aid_rate_cat2=85% --param aid_cap_cat2=100000
                          --param aid_rate_cat3=75% --param aid_cap_cat3=100000
                          --param aid_rate_cat4=70% --param aid_cap_cat4=100000" ;;
        *) params="" ;;
    esac
    # shellcheck disable=SC2086  # the parameters are words
    $med run "policies/$city.med" "examples/nhsa/$city.jsonl" --from nhsa --to nhsa \
        -o "$out/$city.out.jsonl" $params 2>/dev/null
done
exit 0
