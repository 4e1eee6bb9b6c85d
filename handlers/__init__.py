"""The pipeline: a CSV in S3 becomes a trained, deployed, evaluated and decided model.

Knows nothing about SQS (the worker runtime is `service`). A folder per concern; each folder's
`__init__` imports nothing, so importing one module never loads a neighbour's dependencies.
Layers, lowest first (a module imports only from its own layer or below; the import-linter
contracts in `pyproject.toml` check it, `docs/architecture.md` explains it):

    naming       the contracts: names and keys derived from a run or dataset, below
    messages, settings   the message types and the pipeline's settings (both use naming)
    aws/         thin AWS clients without pipeline rules: the Bucket, the SageMaker gateway,
                 the XGBoost image, the endpoint wait, CloudWatch, training logs
    recipe/      what a dataset declares (pure): the recipe's model and reader, task kinds,
                 the promotion table, the XGBoost container's rules, the packaged recipes
    data/        an upload becomes training files (pure): the CSV dialect, validation, the
                 encoder, the split, the pre-training checks, the profile, drafts, synthetic data
    evaluation/  a test set scored and measured (pure, the endpoint call injected): scoring,
                 one metrics module per task kind, bootstrap intervals
    runs/        what is recorded about a run: the repository, manifest, claims, recipe source,
                 status
    lifecycle/   which version serves: the gate, the input contract, champion pointer,
                 registry, live endpoint, decisions, catalog
    deps         what every stage is given (`ctx.deps`), built by the composition root
    serving/     what runs at and against an endpoint: the entry module of the serving bundle
                 deployed with each model (raw rows in, answers out), the bundle, scoring by
                 upload
    report/      a run's pages, figures and the runs index
    stages/      the route targets, one module per stage (a stage never imports another)
    routes       which S3 objects and messages start which stage
"""
