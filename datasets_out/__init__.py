"""Dataset exports of `writer dataset` jobs: `export.export_job` writes SFT, DPO or Self-Lengthen records
(`records`), filtered and deduplicated (`filters`, `dedupe`), with a dataset card (`card`)."""
