using TrainedModelsOrleans.Silo;

// One process = one ML node: an Orleans silo, and the Elasticsearch-compatible API and dashboard beside it.
// With Client:Gateways set it is the API alone, an Orleans client of those silos.
await using var node = await SiloHost.StartAsync(args);
await node.WaitForShutdownAsync();
