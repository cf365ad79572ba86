using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using TrainedModelsOrleans.Grains.Deployments;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>
/// A transactional state row as the silo's storage serializer writes and reads it: the participants it names (who manages
/// a prepared transaction, whom a manager must confirm) must come back, or recovery after a killed silo cannot finish.
/// </summary>
public sealed class TransactionalRowFormatTests(ControlPlaneCluster cluster, ITestOutputHelper output) : ControlPlaneTest(cluster, output)
{
    [Fact]
    public void Transaction_participants_in_a_state_row_survive_the_storage_serializer()
    {
        var serializer = Cluster.Cluster.Silos[0].SiloHost.Services.GetRequiredService<IGrainStorageSerializer>();
        var manager = new ParticipantId("assignment-index",
            (GrainReference)(object)Cluster.Grain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key),
            ParticipantId.Role.Resource | ParticipantId.Role.Manager);
        var participant = new ParticipantId("deployment", (GrainReference)(object)Cluster.Grain<IDeploymentGrain>("some-deployment"), ParticipantId.Role.Resource);
        var transaction = Guid.NewGuid();
        var written = new TransactionalStateRecord<DeploymentRecord>
        {
            CommittedSequenceId = 4,
            PendingStates =
            [
                new PendingTransactionState<DeploymentRecord>
                {
                    SequenceId = 5, TransactionId = transaction.ToString(), TimeStamp = DateTime.UtcNow, TransactionManager = manager,
                    State = new DeploymentRecord { MemoryBytes = 42 },
                },
            ],
            Metadata = new TransactionalStateMetaData
            {
                CommitRecords = { [transaction] = new CommitRecord { Timestamp = DateTime.UtcNow, WriteParticipants = [manager, participant] } },
            },
        };

        var read = serializer.Deserialize<TransactionalStateRecord<DeploymentRecord>>(serializer.Serialize(written))
            ?? throw new InvalidOperationException("the serializer read nothing back");

        AssertSame(manager, Assert.Single(read.PendingStates).TransactionManager);
        Assert.Equal(42, read.PendingStates[0].State.MemoryBytes);
        var confirmed = read.Metadata.CommitRecords[transaction].WriteParticipants;
        Assert.Equal(2, confirmed.Count);
        AssertSame(manager, confirmed[0]);
        AssertSame(participant, confirmed[1]);
    }

    private static void AssertSame(ParticipantId expected, ParticipantId actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.NotNull(actual.Reference);
        Assert.Equal(expected.Reference.GrainId, actual.Reference.GrainId);
        Assert.Equal(expected.SupportedRoles, actual.SupportedRoles);
        Assert.True(ParticipantId.Comparer.Equals(expected, actual));
    }
}
