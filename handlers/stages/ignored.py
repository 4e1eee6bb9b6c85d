"""Stage `upload.ignored`: an object under `data/` or `score/` in the raw bucket whose name no
rule takes (`x.txt`, `x.xlsx`, `x.csv.zip`), recorded where `automlops status` looks.

S3 announces every object under those prefixes (the rules take four endings in any letter case,
more than a notification filter can say), so the worker sees these too. Without a record the
person who uploaded `x.txt` would see nothing anywhere; with it, `automlops status` lists the
upload and says what name the worker would take. One record per object
(`ignored/<digest>.json` in the reports bucket): a redelivery or a new upload of the same key
writes it again.
"""

from __future__ import annotations

from handlers.aws.storage import s3_uri
from handlers.deps import Ctx
from handlers.messages import UploadIgnored
from handlers.naming import UPLOAD_ENDINGS, ignored_key
from handlers.runs.manifest import now
from handlers.stages import order
from service.messages import Outgoing

STAGE = order.IGNORED


def handle(msg: UploadIgnored, ctx: Ctx) -> list[Outgoing]:
    upload = s3_uri(msg.bucket, msg.key)
    if msg.key.endswith("/"):  # a folder made in the S3 console: nobody uploaded a file
        ctx.log.info("upload.folder", input=upload)
        return []
    reason = why_ignored()
    ctx.deps.buckets.reports.write_json(
        ignored_key(msg.bucket, msg.key),
        {
            "input": upload,
            "reason": reason,
            "size": msg.size,
            "etag": msg.etag.strip('"'),
            "ignored_at": now(),
        },
    )
    ctx.log.warning("upload.ignored", input=upload, reason=reason)
    return []


def why_ignored() -> str:
    endings = ", ".join(UPLOAD_ENDINGS[:-1]) + f" or {UPLOAD_ENDINGS[-1]}"
    return (
        f"the worker reads files ending {endings} (any letter case); upload it again under "
        "such a name"
    )
