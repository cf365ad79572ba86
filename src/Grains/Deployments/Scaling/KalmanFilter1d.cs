namespace TrainedModelsOrleans.Grains.Deployments.Scaling;

/// <summary>
/// Elasticsearch's estimator of a measured quantity's mean and standard error (adaptiveallocations/KalmanFilter1d.java): a
/// one-dimensional Kalman filter whose steady-state smoothing is fixed (about the last <c>smoothingFactor</c>
/// measurements count), with extra process noise for a step where the dynamics changed — told by the caller, or
/// detected when a measurement is more than 10 standard deviations from the estimate.
/// </summary>
public sealed class KalmanFilter1d(double smoothingFactor, bool autodetectDynamicsChange)
{
    private double _value = double.MaxValue;
    private double _variance = double.MaxValue;
    private bool _dynamicsChangedLastTime;

    public bool HasValue => _value < double.MaxValue && _variance < double.MaxValue;

    /// <summary>The estimated mean.</summary>
    public double Estimate => _value;

    /// <summary>The estimate's standard error.</summary>
    public double Error => Math.Sqrt(_variance);

    /// <summary>The lower bound of the one-standard-deviation interval.</summary>
    public double Lower => _value - Error;

    /// <summary>The upper bound of the one-standard-deviation interval.</summary>
    public double Upper => _value + Error;

    /// <summary>Adds a measurement with its variance; <paramref name="dynamicsChanged"/>: the quantity may have changed before it.</summary>
    public void Add(double value, double variance, bool dynamicsChanged)
    {
        bool changed;
        if (!HasValue)
        {
            changed = true;
            _value = value;
            _variance = variance;
        }
        else
        {
            var processVariance = variance / smoothingFactor;
            changed = dynamicsChanged || DetectDynamicsChange(value, variance);
            // A likely change: inject noise in the dynamics for this step so the estimate follows quickly.
            if (changed || _dynamicsChangedLastTime) processVariance = value * value;
            var gain = (_variance + processVariance) / (_variance + processVariance + variance);
            _value += gain * (value - _value);
            _variance = (1 - gain) * (_variance + processVariance);
        }
        _dynamicsChangedLastTime = changed;
    }

    private bool DetectDynamicsChange(double value, double variance) =>
        HasValue && autodetectDynamicsChange && Math.Pow(Math.Abs(value - _value), 2) / (variance + _variance) > 100.0;
}
