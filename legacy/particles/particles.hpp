// A small C++ particle system: a class with methods, std::vector and std::string, and exceptions.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace sim {

// Thrown by step() when a time step would move a particle farther than half the box.
class Unstable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ParticleSystem {
public:
    // n particles at the origin, at rest, in a periodic cubic box of side `box`.
    ParticleSystem(int n, double box);
    // Copy of another system with a new label.
    ParticleSystem(const ParticleSystem &other, const std::string &label);
    // With PARTICLES_TRACE set in the environment, says so on stderr (legacy-style tracing).
    ~ParticleSystem();

    int size() const { return n_; }
    double box() const { return box_; }
    void set_box(double box);

    // x0, y0, z0, x1, ... (3n values); std::length_error if the size is wrong.
    void set_positions(const std::vector<double> &xyz);
    void set_velocities(const std::vector<double> &v);
    std::vector<double> positions() const { return x_; }

    // Advance by dt with free flight and periodic wrapping; returns the number of wraps.
    int step(double dt);
    double kinetic_energy(double mass) const;
    std::string describe() const;

    std::string label = "system";

private:
    int n_;
    double box_;
    std::vector<double> x_, v_;
};

}  // namespace sim
