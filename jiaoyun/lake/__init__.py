"""The lake: where Parquet facts live, and how to open an analytic backend on them.

Layout under the lake root (`settings.LAKE_URL`, a folder or any URL pyarrow's filesystems
open, e.g. s3:// or hdfs://)::

    warehouse/<table>/<table>-<YYYY-MM-DD>.parquet   one file per table and snapshot day
    reference/<table>.parquet                        imported reference data (births)
    marts/<YYYY-MM-DD>-<policy>/<view>.parquet       materialised view results

Nothing here imports Django at module level, so `bench/` and notebooks use it with an
explicit root; the Django side passes `default_root()`.
"""
