using TrainedModelsOrleans.Grains.Security;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Security;

public sealed class PasswordHashingTests
{
    [Fact]
    public void A_hash_verifies_its_password_only_and_states_its_iterations()
    {
        var hash = PasswordHashing.Hash("correct horse", 1_000);
        Assert.StartsWith("$pbkdf2-sha256$i=1000$", hash, StringComparison.Ordinal);
        Assert.DoesNotContain("correct horse", hash, StringComparison.Ordinal);
        Assert.True(PasswordHashing.Verify("correct horse", hash));
        Assert.False(PasswordHashing.Verify("correct horsf", hash));
        Assert.False(PasswordHashing.Verify("", hash));
        Assert.Equal(1_000, PasswordHashing.Iterations(hash));
    }

    [Fact]
    public void Each_hash_has_its_own_salt()
    {
        var a = PasswordHashing.Hash("same", 1_000);
        var b = PasswordHashing.Hash("same", 1_000);
        Assert.NotEqual(a.Split('$')[3], b.Split('$')[3]);
        Assert.True(PasswordHashing.Verify("same", a) && PasswordHashing.Verify("same", b));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain-text-password")]
    [InlineData("$pbkdf2-sha256$i=0$AAAA$AAAA")]
    [InlineData("$pbkdf2-sha256$i=10$not base64$AAAA")]
    [InlineData("$pbkdf2-sha256$i=10$AAAA")]
    public void A_value_that_is_not_our_hash_never_verifies(string stored)
    {
        Assert.False(PasswordHashing.Verify("plain-text-password", stored));
        Assert.Null(PasswordHashing.Iterations(stored));
    }

    [Fact]
    public void The_default_iteration_counts_are_the_stated_ones()
    {
        Assert.Equal(600_000, PasswordHashing.DefaultPasswordIterations);
        Assert.Equal(10_000, PasswordHashing.DefaultApiKeyIterations);
    }
}
