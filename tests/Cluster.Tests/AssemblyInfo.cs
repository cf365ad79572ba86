using Xunit;

// Each test runs a cluster of silo processes; on two cores they are measured one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
