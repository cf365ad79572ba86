using System.Text.Json.Nodes;
using TrainedModelsOrleans.Cli.Upload;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

public class ResumeDecisionTests
{
    private static readonly PartPlan Plan = PartPlan.For(1000, 100);

    private static StoredModel Partial(params int[] parts) => new(false, 0, new StoredParts(10, 1000, parts.ToHashSet()));

    [Fact]
    public void A_model_uploaded_from_another_file_of_the_same_length_is_a_conflict_naming_both_hashes()
    {
        var stored = new StoredModel(false, 0, new StoredParts(10, 1000, new HashSet<int> { 0, 1 }), "aa11");
        var conflict = Assert.IsType<ResumeDecision.Conflict>(ResumeDecision.For("m", stored, Plan, false, fileSha256: "bb22"));
        Assert.Contains("sha256 aa11, this file's is bb22", conflict.Reason);
        Assert.IsType<ResumeDecision.Conflict>(ResumeDecision.For("m", new StoredModel(true, 1000, null, "aa11"), Plan, false, "bb22"));
        // The same file (hex in either case) resumes or is complete; a model put without a hash falls back to lengths.
        Assert.IsType<ResumeDecision.Resume>(ResumeDecision.For("m", stored, Plan, false, "AA11"));
        Assert.IsType<ResumeDecision.AlreadyComplete>(ResumeDecision.For("m", new StoredModel(true, 1000, null, "aa11"), Plan, false, "aa11"));
        Assert.IsType<ResumeDecision.AlreadyComplete>(ResumeDecision.For("m", new StoredModel(true, 1000, null), Plan, false, "bb22"));
    }

    [Fact]
    public void The_stored_hash_is_read_from_the_configs_metadata()
    {
        var body = JsonNode.Parse("""{"trained_model_configs":[{"model_id":"m","fully_defined":true,"model_size_bytes":5,"metadata":{"definition_sha256":"abc"}}]}""")!;
        Assert.Equal("abc", StoredModel.FromGetResponse("m", body)!.DefinitionSha256);
        Assert.Null(StoredModel.FromGetResponse("m", JsonNode.Parse("""{"trained_model_configs":[{"model_id":"m","metadata":{"definition_sha256":1}}]}""")!)!.DefinitionSha256);
    }

    [Fact]
    public void A_new_model_is_uploaded_whole() =>
        Assert.IsType<ResumeDecision.UploadAll>(ResumeDecision.For("m", null, Plan, clearPrevious: false));

    [Fact]
    public void Clear_previous_deletes_whatever_is_stored() =>
        Assert.IsType<ResumeDecision.DeleteThenUploadAll>(ResumeDecision.For("m", Partial(1, 2), Plan, clearPrevious: true));

    [Fact]
    public void An_incomplete_model_resumes_without_its_stored_parts()
    {
        var decision = Assert.IsType<ResumeDecision.Resume>(ResumeDecision.For("m", Partial(0, 1, 5), Plan, false));
        Assert.Equal([0, 1, 5], decision.Stored.Order());
    }

    [Fact]
    public void A_model_with_config_and_no_part_resumes_from_the_first() =>
        Assert.Empty(Assert.IsType<ResumeDecision.Resume>(
            ResumeDecision.For("m", new StoredModel(false, 0, new StoredParts(0, 0, new HashSet<int>())), Plan, false)).Stored);

    [Fact]
    public void A_service_that_lists_no_parts_gets_every_part_again() =>
        Assert.Empty(Assert.IsType<ResumeDecision.Resume>(ResumeDecision.For("m", new StoredModel(false, 0, null), Plan, false)).Stored);

    [Fact]
    public void Parts_cut_another_way_are_a_conflict_naming_both_plans()
    {
        var stored = new StoredModel(false, 0, new StoredParts(5, 1000, new HashSet<int> { 0 }));
        var conflict = Assert.IsType<ResumeDecision.Conflict>(ResumeDecision.For("m", stored, Plan, false));
        Assert.Contains("1 of 5 parts", conflict.Reason);
        Assert.Contains("10 parts", conflict.Reason);
        Assert.Contains("--clear-previous", conflict.Reason);
    }

    [Fact]
    public void A_complete_model_of_the_same_length_needs_no_part_and_another_length_is_a_conflict()
    {
        Assert.IsType<ResumeDecision.AlreadyComplete>(ResumeDecision.For("m", new StoredModel(true, 1000, null), Plan, false));
        Assert.IsType<ResumeDecision.Conflict>(ResumeDecision.For("m", new StoredModel(true, 999, null), Plan, false));
    }

    [Fact]
    public void Stored_state_is_read_from_the_get_answer_with_definition_status()
    {
        var body = JsonNode.Parse("""
            {"count":1,"trained_model_configs":[{"model_id":"m","model_size_bytes":0,"fully_defined":false,
              "definition_parts":{"total_parts":10,"total_definition_length":1000,"stored_parts":[0,3]}}]}
            """)!;
        var stored = StoredModel.FromGetResponse("m", body)!;
        Assert.False(stored.FullyDefined);
        Assert.Equal(10, stored.StoredParts!.TotalParts);
        Assert.Equal(1000, stored.StoredParts.TotalDefinitionLength);
        Assert.Equal([0, 3], stored.StoredParts.Parts.Order());

        var elasticsearch = StoredModel.FromGetResponse("m", JsonNode.Parse("""{"count":1,"trained_model_configs":[{"model_id":"m","fully_defined":true,"model_size_bytes":1000}]}""")!);
        Assert.Equal(new StoredModel(true, 1000, null), elasticsearch);
    }

    [Fact]
    public void A_get_answer_for_an_alias_lists_another_model_and_counts_as_no_model()
    {
        var body = JsonNode.Parse("""{"count":1,"trained_model_configs":[{"model_id":"real-model","fully_defined":true,"model_size_bytes":1000}]}""")!;
        Assert.Null(StoredModel.FromGetResponse("my-alias", body));
    }
}
