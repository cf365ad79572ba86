using TrainedModelsOrleans.Silo;

// One process = one ML node: a silo, and (by default) the Elasticsearch-compatible API beside it.
await using var node = await SiloHost.StartAsync(args);
await node.WaitForShutdownAsync();
