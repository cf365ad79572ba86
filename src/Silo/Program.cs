using TrainedModelsOrleans.Silo;

// One process = one ML node: a silo, and (by default) the Elasticsearch-compatible API beside it.
// With Client:Gateways set it is the API alone, a client of those silos.
await using var node = await SiloHost.StartAsync(args);
await node.WaitForShutdownAsync();

// A fenced node exits with EX_TEMPFAIL so a supervisor starts it again as a new generation.
return node.Fenced ? 75 : 0;
