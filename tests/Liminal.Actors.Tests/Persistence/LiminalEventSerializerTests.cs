using Liminal.Actors.Persistence;

namespace Liminal.Actors.Tests.Persistence;

public sealed class LiminalEventSerializerTests
{
    [Fact]
    public void Every_persisted_type_has_a_stable_manifest()
    {
        var persisted = typeof(ILiminalEvent).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && (typeof(ILiminalEvent).IsAssignableFrom(t) || typeof(ILiminalSnapshot).IsAssignableFrom(t)));

        Assert.All(persisted, type => Assert.True(LiminalEventSerializer.Manifests.ContainsKey(type), $"{type.Name} has no manifest"));
        Assert.Equal(LiminalEventSerializer.Manifests.Count, LiminalEventSerializer.Manifests.Values.Distinct().Count());
    }
}
