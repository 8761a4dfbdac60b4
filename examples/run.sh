#!/bin/sh
# Settle the shipped example claims of every city, as a table.
# Ziyang's caps and Shaoxing's aid ranges are set each year: these are the example figures;
# each city is given only the parameters its policy declares.
cd "$(dirname "$0")/.."
status=0
params() {
    case "$1" in
        ziyang) echo "--param avg_wage=60000" ;;
        shaoxing) echo "--param b_prepay=10% --param aid_rate_cat2=85% --param aid_cap_cat2=100000" \
                       "--param aid_rate_cat3=75% --param aid_cap_cat3=100000" \
                       "--param aid_rate_cat4=70% --param aid_cap_cat4=100000" ;;
    esac
}
for city in suihua suizhou shaoxing binzhou ziyang; do
    [ -f "policies/$city.med" ] && [ -f "examples/$city-claims.jsonl" ] || continue
    echo "== $city"
    # shellcheck disable=SC2046  # the parameters are words on purpose
    med run "policies/$city.med" "examples/$city-claims.jsonl" --format table $(params "$city") || status=1
    echo
done
exit $status
