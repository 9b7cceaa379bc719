#!/bin/sh
# Rebuilds sitemap.xml from the product list the API serves. Run by cron every hour.
set -eu
[ -r /etc/webshop/batch.env ] && . /etc/webshop/batch.env
API_URL=${API_URL:-http://127.0.0.1:8000}
PUBLIC_URL=${PUBLIC_URL:-https://webshop.example.com}
out=${WEBSHOP_DATA_DIR:-/var/lib/webshop}/sitemap.xml

products=$(curl -fsS --max-time 20 "$API_URL/api/products")
{
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    echo "  <url><loc>$PUBLIC_URL/</loc></url>"
    printf '%s' "$products" | python3 -c '
import json, sys
for item in json.load(sys.stdin)["items"]:
    print("  <url><loc>%s/products/%d</loc></url>" % (sys.argv[1], item["id"]))
' "$PUBLIC_URL"
    echo '</urlset>'
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$(date -Is) refresh_sitemap: wrote $out"
